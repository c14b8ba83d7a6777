"""`Celerity(url, token)`: every operation of the jobs API (docs/api.md) as a typed call.

    from celerity_client import Celerity

    celerity = Celerity("http://127.0.0.1:8000", token)
    job = celerity.submit("checksum", [{"text": "hello"}, {"text": "world"}])
    done = celerity.wait(job.id, timeout=60)
    for item in celerity.items(job.id, state="failed"):
        print(item.index, item.error)

One instance holds one HTTP session: give each thread its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from celerity_client import ndjson
from celerity_client.errors import Conflict, ConnectionFailed, TooLarge
from celerity_client.models import Item, Job, JobType, Json, Submission, page_of, parsed
from celerity_client.transport import Retrying, RetryPolicy, Transport, encoded
from celerity_client.waiting import LONG_POLL, Poller

Items = int | Iterable[Json] | IO[bytes] | IO[str] | os.PathLike[str]
NDJSON = "application/x-ndjson"
INLINE_ITEMS = 1_000  # a list up to this long (and INLINE_BYTES encoded) goes in the submit's JSON body
INLINE_BYTES = 512 * 1024  # well under the API's 1 MiB body limit
UPLOAD_TIMEOUT = 600.0  # seconds for the answer to an upload: the API reads and stores every line first
JOBS_PAGE, ITEMS_PAGE = 100, 1_000  # the API's largest pages


class Celerity:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[Retrying], None] | None = None,
    ) -> None:
        """`url` is the API's root (`http://127.0.0.1:8000`); `retry` bounds the retries of a 503, a 429 or a
        broken connection; `on_retry` hears of each one before its wait."""
        self.transport = Transport(url, token, timeout=timeout, retry=retry, on_retry=on_retry)
        self.poller = Poller(self._look)

    @property
    def url(self) -> str:
        return self.transport.url

    @property
    def token(self) -> str:
        return self.transport.token

    def submit(
        self,
        job_type: str,
        items: Items,
        *,
        chunk_size: int | None = None,
        queue: str | None = None,
        idempotency_key: str | None = None,
        item_cost_ms: int | None = None,
        fail_rate: float | None = None,
    ) -> Submission:
        """Create a job of `job_type` over `items`:

        - an `int` N: the items 0..N-1 (the demo job types square them);
        - a list or tuple: sent inline when small, else streamed as an upload;
        - any other iterable (a generator, say): streamed as an NDJSON upload, encoded into a spool, never held;
        - a binary or text file, or a path: its NDJSON lines, uploaded as they are.

        Every submit carries an idempotency key (a fresh one unless given), reused by its retries, so that a
        submit retried after a lost answer never makes two jobs; submitting again with `Submission.idempotency_key`
        answers with the same job. `item_cost_ms` and `fail_rate` (the demo's options) need inline items."""
        key = idempotency_key or str(uuid.uuid4())
        options = {"item_cost_ms": item_cost_ms, "fail_rate": fail_rate}
        options = {name: value for name, value in options.items() if value is not None}
        if isinstance(items, bool | str | bytes | Mapping):
            raise TypeError(f"items: a count, a list or iterable of JSON values, a file or a path, not {items!r:.40}")
        if isinstance(items, int):
            return self._post_inline(self._body(job_type, items, chunk_size, queue, options), key)
        if isinstance(items, Sequence) and (options or len(items) <= INLINE_ITEMS):
            body = self._body(job_type, list(items), chunk_size, queue, options)
            if options or len(body) <= INLINE_BYTES:
                try:
                    return self._post_inline(body, key)
                except TooLarge:  # a server with a smaller body limit: the upload takes any size (nothing was made)
                    if options:
                        raise
        if options:
            raise ValueError("item_cost_ms and fail_rate need the items inline: pass a list (at most 10,000)")
        if isinstance(items, os.PathLike):
            with open(items, "rb") as stream:
                return self._upload(job_type, stream, chunk_size, queue, key)
        if hasattr(items, "read"):
            return self._upload(job_type, items, chunk_size, queue, key)  # type: ignore[arg-type]  # a file, by hasattr
        return self._upload(job_type, ndjson.spooled(items)[0], chunk_size, queue, key, owned=True)

    def _body(
        self,
        job_type: str,
        items: int | list[Json],
        chunk_size: int | None,
        queue: str | None,
        options: Mapping[str, Any],
    ) -> bytes:
        body = {"type": job_type, "items": items, "chunk_size": chunk_size, "queue": queue, **options}
        try:
            return encoded({name: value for name, value in body.items() if value is not None})
        except (TypeError, ValueError):
            for index, item in enumerate(items if isinstance(items, list) else []):
                ndjson.dumps(item, index)  # raises InvalidItem naming the first item that is not JSON
            raise

    def _post_inline(self, body: bytes, key: str) -> Submission:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        answer, _ = self.transport.request("POST", "/api/jobs", data=body, headers=headers)
        return parsed(Submission.from_json, answer, idempotency_key=key)

    def _upload(
        self,
        job_type: str,
        stream: IO[Any],
        chunk_size: int | None,
        queue: str | None,
        key: str,
        *,
        owned: bool = False,
    ) -> Submission:
        """`owned`: the stream is this call's own (a spool), closed when sent."""
        body: IO[bytes] = stream if ndjson.sendable(stream) else ndjson.copied(stream)
        params = {"type": job_type, "chunk_size": chunk_size, "queue": queue}
        headers = {"Content-Type": NDJSON, "Idempotency-Key": key}
        try:
            answer, _ = self.transport.request(
                "POST", "/api/jobs/upload", params=params, data=body, headers=headers, timeout=UPLOAD_TIMEOUT
            )
        finally:
            if owned or body is not stream:
                body.close()
        return parsed(Submission.from_json, answer, idempotency_key=key)

    def job(self, job_id: str) -> Job:
        """The job, with its progress and, once finished, its result."""
        return self._look(job_id, None)

    def _look(self, job_id: str, wait: int | None) -> Job:
        timeout = None if wait is None else self.transport.timeout + wait
        answer, _ = self.transport.request("GET", f"/api/jobs/{job_id}", params={"wait": wait}, timeout=timeout)
        return parsed(Job.from_json, answer)

    def jobs(self, *, status: str | None = None, type: str | None = None, limit: int | None = None) -> Iterator[Job]:
        """Jobs, newest first, across pages; `status` and `type` filter, `limit` stops after that many."""
        recent: set[str] = set()  # the last page's ids: a job created meanwhile shifts the next page by one
        offset = given = 0
        while limit is None or given < limit:
            page_size = JOBS_PAGE if limit is None else max(1, min(JOBS_PAGE, limit - given))
            params = {"status": status, "type": type, "limit": page_size, "offset": offset}
            answer, _ = self.transport.request("GET", "/api/jobs", params=params)
            entries, following = page_of(answer)
            jobs = [parsed(Job.from_json, body) for body in entries]
            for job in jobs:
                if job.id not in recent and (limit is None or given < limit):
                    given += 1
                    yield job
            if not following:
                return
            recent = {job.id for job in jobs}
            offset += len(jobs)

    def items(self, job_id: str, *, state: str | None = None) -> Iterator[Item]:
        """The job's items that have an outcome, in index order, across pages; `state` is done, failed or
        pending."""
        offset, last = 0, -1
        while True:
            params = {"state": state, "limit": ITEMS_PAGE, "offset": offset}
            answer, _ = self.transport.request("GET", f"/api/jobs/{job_id}/items", params=params)
            entries, following = page_of(answer)
            for item in [parsed(Item.from_json, body) for body in entries]:
                if item.index > last:  # pages that shifted under a running retry never repeat an item
                    last = item.index
                    yield item
            if not following:
                return
            offset += len(entries)

    def wait(self, job_id: str, *, timeout: float | None = None, on_update: Callable[[Job], None] | None = None) -> Job:
        """The job once it has finished (succeeded, failed or cancelled: check `status`), WaitTimeout after
        `timeout` seconds. With `on_update`, it hears the job about once a second while it runs."""
        job = None
        every = LONG_POLL if on_update is None else 1.0
        for job in self.poller.snapshots(job_id, every=every, timeout=timeout):
            if on_update is not None:
                on_update(job)
        assert job is not None
        return job

    def watch(self, job_id: str, *, every: float = 1.0, timeout: float | None = None) -> Iterator[Job]:
        """The job about every `every` seconds while it runs, ending with it finished."""
        return self.poller.snapshots(job_id, every=every, timeout=timeout)

    def cancel(self, job_id: str) -> Job:
        """Cancel a pending or running job (Conflict if it has finished). A cancel whose first answer was lost is
        asked again and then finds the job already cancelled (409): that was this call's doing."""
        try:
            answer, _ = self.transport.request("POST", f"/api/jobs/{job_id}/cancel")
        except Conflict as conflict:
            if conflict.attempt > 1 and (job := self.job(job_id)).status == "cancelled":
                return job
            raise
        return parsed(Job.from_json, answer)

    def retry(self, job_id: str) -> Job:
        """Run the failed items of a failed job again (Conflict unless it failed). A retry is not asked twice: when
        its answer is lost, the job tells whether it went through (it is running again, or finished anew)."""
        before = self.job(job_id)
        try:
            answer, _ = self.transport.request("POST", f"/api/jobs/{job_id}/retry", reconnect=False)
        except ConnectionFailed:
            after = self.job(job_id)
            if after.status != "failed" or after.finished_at != before.finished_at:
                return after  # this retry went through; asking again would retry the job a second time
            answer, _ = self.transport.request("POST", f"/api/jobs/{job_id}/retry")
        return parsed(Job.from_json, answer)

    def types(self) -> list[JobType]:
        """The job types this server runs, with their defaults."""
        answer, _ = self.transport.request("GET", "/api/types")
        return [parsed(JobType.from_json, body) for body in page_of(answer)[0]]

    def ready(self) -> bool:
        """True when the API answers its readiness check (Postgres and Redis both up); never raises."""
        try:
            response = self.transport.session.get(f"{self.url}/readyz", timeout=5)
        except Exception:  # a readiness probe answers yes or no, whatever went wrong
            return False
        return response.status_code == 200

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Celerity:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
