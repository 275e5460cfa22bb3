"""A store in an S3 bucket prefix, through boto3's standard configuration.

Credentials, region, ``AWS_PROFILE`` and ``AWS_ENDPOINT_URL`` come from boto3's own chain,
so the store works the same against AWS, MinIO or a local test server.

S3 cannot remove many objects at once, so a removal is made resumable instead: an intent
``.nbprod/deleting/<prefix>.json`` is written first, then the catalog forgets the run (it is
never listed half-deleted), then the record goes (the folder stops being a run to every
reader), then the rest, then the intent. An interrupted removal keeps its intent, and
:meth:`S3Store.finish_removal` completes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from nbprod.errors import StoreUnavailable
from nbprod.store.base import Entry, Forget, Item, Kind, Removal, Store, check_key
from nbprod.store.layout import META

INTENTS = f"{META}/deleting"
_BATCH = 1000  # DeleteObjects' limit

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Store(Store):
    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Fail fast on a dead endpoint: nbprod retries whole uploads itself and spools.
            config = Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 2, "mode": "standard"},
            )
            self._client = boto3.session.Session().client("s3", config=config)
        return self._client

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise KeyError(kwargs.get("Key", "")) from None
            raise StoreUnavailable(f"S3 {what} failed on {self.url}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"S3 {what} failed on {self.url}: {exc}") from exc

    def _put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self._call(
            "upload",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            **extra,
        )

    def _get(self, key: str) -> bytes:
        response = self._call(
            "download", self.client.get_object, Bucket=self.bucket, Key=self._key(key)
        )
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head", self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        except KeyError:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[Entry]:
        folder = prefix.strip("/")
        if folder:
            check_key(folder)
        full = "/".join(p for p in (self.prefix, folder) if p)
        full = f"{full}/" if full else ""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/")
        entries: list[Entry] = []
        try:
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    entries.append(Entry(common["Prefix"][len(full) :].rstrip("/"), True))
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(full) :]
                    if name:
                        entries.append(Entry(name, False, obj.get("Size")))
        except Exception as exc:  # botocore errors surface lazily while paging
            from botocore.exceptions import BotoCoreError, ClientError

            if isinstance(exc, (BotoCoreError, ClientError)):
                raise StoreUnavailable(f"S3 listing failed on {self.url}: {exc}") from exc
            raise
        yield from sorted(entries, key=lambda e: e.name)

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    # -- removals ---------------------------------------------------------------------

    def _all_keys(self, folder: str) -> list[tuple[str, int | None]]:
        """Every object below ``folder`` (store-relative keys), all pages, no delimiter."""
        full = f"{self._key(folder)}/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        found: list[tuple[str, int | None]] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            )
            for page in pages:
                found += [(o["Key"][strip:], o.get("Size")) for o in page.get("Contents", [])]
        except Exception as exc:
            from botocore.exceptions import BotoCoreError, ClientError

            if isinstance(exc, (BotoCoreError, ClientError)):
                raise StoreUnavailable(f"S3 listing failed on {self.url}: {exc}") from exc
            raise
        return found

    def plan_removal(self, prefix: str, first: tuple[str, ...] = ()) -> Removal:
        key = check_key(prefix.strip("/"))
        items = [Item(k, Kind.FILE, size) for k, size in self._all_keys(key)]
        return Removal(key, items, list(first))

    def _intent(self, prefix: str) -> str:
        return f"{INTENTS}/{prefix}.json"

    def remove(self, removal: Removal, forget: Forget) -> list[str]:
        if not removal.items:
            forget()
            return []
        intent = self._intent(removal.prefix)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        body = {"prefix": removal.prefix, "objects": len(removal.items), "started_at": started}
        self.put(intent, json.dumps(body).encode(), "application/json")
        try:
            forget()
        except BaseException:
            self.delete(intent)  # nothing was deleted: no removal to resume
            raise
        self._delete_all(removal)
        return []

    def _delete_all(self, removal: Removal) -> None:
        keys = [item.key for item in removal.items]
        first = [k for k in removal.first if k in keys]
        self._delete_keys(first)
        self._delete_keys([k for k in keys if k not in first])
        # Anything written under the prefix meanwhile (or left by an earlier attempt).
        self._delete_keys([k for k, _ in self._all_keys(removal.prefix)])
        self.delete(self._intent(removal.prefix))

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            response = self._call(
                "delete",
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(k)} for k in batch], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                sample = errors[0]
                raise StoreUnavailable(
                    f"S3 delete failed on {self.url}: {len(errors)} object(s) not deleted "
                    f"({sample.get('Key')}: {sample.get('Code')}); the deletion resumes "
                    "with the next `nbprod gc` or `nbprod runs delete`"
                )

    def unfinished_removals(self) -> list[str]:
        suffix = ".json"
        start = len(INTENTS) + 1
        return sorted(
            key[start : -len(suffix)]
            for key, _ in self._all_keys(INTENTS)
            if key.endswith(suffix) and len(key) > start + len(suffix)
        )

    def finish_removal(self, prefix: str, forget: Forget, first: tuple[str, ...] = ()) -> list[str]:
        forget()
        self._delete_all(self.plan_removal(prefix, first))
        return []
