"""``media``: several output media types, returned as bytes, file objects or paths."""

import io
import pathlib
import struct
import tempfile
import zlib

from marshmallow import fields, validate

from deepserve.model import BaseModel


def tiny_png():
    """Return a valid 1x1 opaque red PNG image as bytes."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte + one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


class MediaModel(BaseModel):
    """Answers in the media type chosen by the ``Accept`` header."""

    predict_media_types = (
        "application/json",
        "image/png",
        "text/csv",
        "application/octet-stream",
    )

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "media", "description": "Answers in several media types."}

    def get_predict_args(self):
        """Return the CSV row count and how to return the CSV."""
        return {
            "rows": fields.Int(load_default=3, validate=validate.Range(1, 100)),
            "mode": fields.Str(
                load_default="bytes",
                validate=validate.OneOf(["bytes", "file", "path"]),
            ),
        }

    def predict(self, accept="application/json", rows=3, mode="bytes"):
        """Return output for the media type ``accept``."""
        if accept == "application/json":
            return {"rows": rows}
        if accept == "image/png":
            return tiny_png()
        if accept == "application/octet-stream":
            return b"\x00\x01\x02"
        if accept != "text/csv":
            raise ValueError(f"unsupported media type: {accept}")
        data = "i,square\n" + "".join(f"{i},{i * i}\n" for i in range(rows))
        if mode == "bytes":
            return data.encode()
        if mode == "file":
            return io.BytesIO(data.encode())
        path = pathlib.Path(tempfile.mkdtemp(prefix="deepserve-media-")) / "out.csv"
        path.write_text(data)
        return path
