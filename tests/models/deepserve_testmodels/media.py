"""``media``: several output media types, returned as bytes, file objects or paths."""

import io
import pathlib
import struct
import tempfile
import zlib

from marshmallow import fields, validate

from deepserve.model import BaseModel


def png(width, height, pixel):
    """Return a valid 8-bit RGB PNG image as bytes; ``pixel(x, y)`` gives its (r, g, b)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(  # each row: filter byte 0, then the pixels
        b"\x00" + bytes(channel for x in range(width) for channel in pixel(x, y))
        for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def tiny_png():
    """Return a valid 1x1 opaque red PNG image as bytes."""
    return png(1, 1, lambda x, y: (255, 0, 0))


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
