/**
 * The API's error answers as typed errors, chosen by status (the server's `{"status",
 * "message", "field"}`), so callers test `instanceof`, never the message.
 */

/** An error answer of the API: status, one-line message, and the form field to blame. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: bad input; `field` names it when there is one. */
export class BadInputError extends ApiError {}
/** 403: not authenticated or not authorized. */
export class ForbiddenError extends ApiError {}
/** 404: no such job, run or notebook (or route). */
export class NotFoundError extends ApiError {}
/** 409: clashes with the current state (job exists, run finished or still running). */
export class ConflictError extends ApiError {}
/** 502 / 503: the store or the catalog cannot be reached by the server. */
export class UnavailableError extends ApiError {}
/** No answer at all: the Jupyter server cannot be reached (status 0). */
export class UnreachableError extends ApiError {}

const BY_STATUS: Record<number, typeof ApiError> = {
  400: BadInputError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  502: UnavailableError,
  503: UnavailableError
};

/** The typed error for an answer's status (a plain ApiError for any other status). */
export function errorFor(status: number, message: string, field: string | null = null): ApiError {
  const Kind = status === 0 ? UnreachableError : BY_STATUS[status] || ApiError;
  return new Kind(status, message, field);
}
