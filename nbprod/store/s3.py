"""A store in an S3 bucket prefix, through boto3's standard configuration.

Credentials, region, ``AWS_PROFILE`` and ``AWS_ENDPOINT_URL`` come from boto3's own chain,
so the store works the same against AWS, MinIO or a local test server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nbprod.errors import StoreUnavailable
from nbprod.store.base import Entry, Store, check_key

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
