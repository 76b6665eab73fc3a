"""``batched``: doubles integers in batches; each call takes a while, so concurrent requests
join a batch. Flags make a request poison its whole batch, fail alone, or shorten the answer."""

import threading
import time

from marshmallow import fields

from deepserve.model import BaseModel


class BatchedModel(BaseModel):
    """Doubles ``n``; answers with the size of the batch it was computed in."""

    max_batch_size = 8
    max_batch_wait_ms = 50

    def __init__(self):
        self.calls = 0  # predict_batch calls in this process
        self._inside = threading.Lock()  # held while a call runs: deepserve's lock must hold

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "batched", "description": "Doubles integers, in batches."}

    def get_predict_args(self):
        """The integer, and flags that make it fail in three ways."""
        return {
            "n": fields.Int(required=True, metadata={"description": "The integer to double."}),
            "poison": fields.Bool(
                load_default=False,
                metadata={"description": "Make the whole predict_batch call raise."},
            ),
            "refuse": fields.Bool(
                load_default=False,
                metadata={"description": "Return an exception for this request alone."},
            ),
            "short": fields.Bool(
                load_default=False,
                metadata={"description": "Make the call return one output too few."},
            ),
            "seconds": fields.Float(
                load_default=0.05, metadata={"description": "How long one call takes."}
            ),
        }

    def predict(self, **args):
        """One request: a batch of one."""
        output = self.predict_batch([args])[0]
        if isinstance(output, Exception):
            raise output
        return output

    def predict_batch(self, batch):
        """Double every ``n``, after sleeping for the longest ``seconds`` of the batch."""
        if not self._inside.acquire(blocking=False):
            raise RuntimeError("called from two threads at once")
        try:
            self.calls += 1
            time.sleep(max(args["seconds"] for args in batch))
            if any(args["poison"] for args in batch):
                raise RuntimeError("a poisoned request is in this batch")
            outputs = [
                ValueError(f"refused {args['n']}")
                if args["refuse"]
                else {"n": args["n"], "double": 2 * args["n"], "batch": len(batch)}
                for args in batch
            ]
            return outputs[:-1] if any(args["short"] for args in batch) else outputs
        finally:
            self._inside.release()
