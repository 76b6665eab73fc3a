"""``deepaas-query``: a module whose ``accept`` argument has no ``location``, as in DEEPaaS's docs.

DEEPaaS then reads ``accept`` from the query string or the form, not from the header. Written
for webargs 5 and marshmallow 3.13+ as well as for deepserve's (the DEEPaaS answers to it are
recorded by ``tests/deepaas_recording/record.py``).
"""

import io
import zipfile

from webargs import fields, validate


def get_metadata():
    """Return the model metadata."""
    return {
        "name": "deepaas-query",
        "description": "A DEEPaaS module reading accept from the query or the form.",
        "author": "deepserve developers",
        "version": "0.1",
    }


def get_predict_args():
    """A text and ``accept`` without a location."""
    return {
        "text": fields.Str(required=True, metadata={"description": "Some text."}),
        "accept": fields.Str(
            load_default="application/json",
            validate=validate.OneOf(["application/json", "text/plain", "application/zip"]),
            metadata={"description": "Media type(s) that is/are acceptable for the response."},
        ),
    }


def predict(**kwargs):
    """The text upper-cased: as JSON, plain text or a zip holding it."""
    text = kwargs["text"].upper()
    if kwargs["accept"] == "text/plain":
        return text
    if kwargs["accept"] == "application/zip":
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            # a fixed date: the same bytes every time (the answers are compared byte for byte)
            zipped.writestr(zipfile.ZipInfo("text.txt", date_time=(2020, 1, 1, 0, 0, 0)), text)
        return archive.getvalue()
    return {"text": text, "length": len(text)}
