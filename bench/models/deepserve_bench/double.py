"""Double an integer: the smallest useful model (a module, as DEEPaaS models usually are)."""

from marshmallow import fields


def get_metadata() -> dict:
    return {"name": "double", "description": "Doubles an integer."}


def get_predict_args() -> dict:
    return {"n": fields.Int(required=True, metadata={"description": "the integer to double"})}


def predict(n: int) -> int:
    return 2 * n
