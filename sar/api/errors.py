"""Error handlers: every bad request gets a JSON body with a one-line ``detail``, never a traceback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from geo.errors import GeoError, GraphError, InvalidCoordinate, NoRoute, NotOnRiver, OutOfArea
from sar.auth.userfile import UserFileError

_STATUS: dict[type[GeoError], int] = {
    InvalidCoordinate: 422,
    OutOfArea: 422,
    NotOnRiver: 422,
    NoRoute: 409,
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p not in ("query", "body", "path")), "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})

    @app.exception_handler(GeoError)
    async def _geo(_request: Request, exc: GeoError) -> JSONResponse:
        if isinstance(exc, GraphError):
            return JSONResponse(status_code=500, content={"detail": f"route graph invalid: {exc}"})
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse(status_code=status, content={"detail": str(exc), "error": type(exc).__name__})

    @app.exception_handler(UserFileError)
    async def _users_file(_request: Request, exc: UserFileError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})
