"""The original system's API dialect under `/original` (see docs/compatibility.md): its wire
format over the engine's use cases, no second implementation. Enabled by
`LAMBDACLONE_ORIGINAL_API` (`on` or `public`).

The original backend (Go, Fiber) spoke `{title, runtime, version, code}`, answered a create
with 200 and the new id as a JSON string, and every failure with 400 or 500
`{"error": "<message>"}`. Its console treats any status but 200 as a failure, so the changes
here wait for their operation (at most `ORIGINAL_WAIT_S`) before answering. Translation only:
- ids are our function keys; `title` is our `title` setting, and the DNS-safe `name` a new
  function needs is derived from it (`name_from_title`); `code` is our code;
- dates are written as Go's `time.Time` marshals the MongoDB dates the original read back
  (`go_time`);
- errors keep their message; their status is the one table's (api/errors.py), folded into the
  original's two: 400 for the caller's mistakes, 500 for the platform's (401/403 of the
  authentication the lead wires in stay as they are).
"""

from api.original.params import name_from_title
from api.original.routes import router
from api.original.shapes import go_time

__all__ = ["go_time", "name_from_title", "router"]
