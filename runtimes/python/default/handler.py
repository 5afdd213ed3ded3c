"""lambdaclone's default Python function (original convention: a Flask-style handler).

`handler()` takes no parameters: it reads the request through Flask's `request` and returns
any Flask response value. Replace it with your own code, or write an AWS Lambda-style
`handler(event, context)` instead.
"""

from flask import Response, jsonify, request


def handler() -> tuple[Response, int]:
    return jsonify(message="Hello from lambdaclone (python)!", params=request.args), 200
