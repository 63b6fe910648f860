"""Storage failures, importable without the Azure SDK (the HTTP shell catches them on every request)."""


class StorageUnavailable(Exception):
    """Table storage could not be reached or failed; the operation may be retried later."""


class ConcurrentUpdate(Exception):
    """Someone else changed the row since it was read (ETag mismatch)."""


class StepUncertain(Exception):
    """An earlier attempt of this step started and never recorded its outcome."""
