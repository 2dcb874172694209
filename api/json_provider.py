"""Flask's JSON provider with orjson doing the encoding: same output types, a fraction of the CPU."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

# Datetimes and dataclasses go through Flask's own `default` (HTTP dates, dicts), so a
# response reads exactly as it would with the stdlib encoder; non-str keys become strings.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    """Encodes with orjson; decoding stays with the stdlib (it accepts any JSON number size).

    What orjson refuses (integers beyond 64 bits, recursion past its limit, unpaired
    surrogates: stored before such input was refused) is encoded by the stdlib instead, so
    a stored value can always be read back and never turns a read into a 500.
    """

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("sort_keys") or kwargs.get("indent"):
            return super().dumps(obj, **kwargs)
        return self._encode(obj).decode()

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self._encode(obj), mimetype=self.mimetype)

    def _encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError
            return super().dumps(obj).encode()
