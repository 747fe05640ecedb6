"""The consumer side of a stream of events (Amazon Kinesis): read records, regroup their events
per (user, session), deliver them with a PutEvents Tracker, say which records to read again, and
set aside the ones that can never be delivered. ``personalize_tracker.kinesis`` is its public
face (``lambda_handler``, ``StreamConsumer``, ``read_stream``).
"""
