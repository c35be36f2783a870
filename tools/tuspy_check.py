"""tuspy (PyPI), unmodified, against a running Uplift demo's tus endpoints.

    python tools/tuspy_check.py http://127.0.0.1:PORT/api/uploads DATA_DIR

Run by client-ts/test/tus-clients.test.ts (in the venv `cargo xtask test` makes from
tools/requirements.txt). Three uploads, each checked by the SHA-256 of the stored file:
with metadata (mediaPost, the caption as `input`), with `upload_checksum` (sha1 per chunk), and
without metadata (tuspy then sends an empty Upload-Metadata header: accepted as such, and the
typed route refuses the untyped file with 415). Prints `tuspy: N passed` and exits non-zero on any failure.
"""

import hashlib
import io
import json
import os
import sys
import urllib.parse
import urllib.request

from tusclient import client
from tusclient.exceptions import TusCommunicationError

MIB = 1024 * 1024


def mp4(size, seed):
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return (head + body)[:size]


def key_of(url):
    # The upload URL's last segment is `{key}.{capability}`.
    last = urllib.parse.unquote(urllib.parse.urlparse(url).path.rstrip("/").split("/")[-1])
    return last.split(".", 1)[0]


def stored_sha(data_dir, key):
    with open(os.path.join(data_dir, "files", key), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def status(base, key):
    with urllib.request.urlopen(f"{base}/files/{urllib.parse.quote(key)}") as r:
        return json.load(r)


def upload(base, data_dir, slug, data, **kwargs):
    c = client.TusClient(f"{base}/{slug}/tus", headers={"x-user": "ann"})
    uploader = c.uploader(file_stream=io.BytesIO(data), chunk_size=1 * MIB, **kwargs)
    uploader.upload()
    key = key_of(uploader.url)
    got = stored_sha(data_dir, key)
    want = hashlib.sha256(data).hexdigest()
    if got != want:
        raise AssertionError(f"stored {got}, sent {want}")
    st = status(base, key)
    if st.get("file", {}).get("size") != len(data):
        raise AssertionError(f"status: {st}")
    return key


def untyped(base):
    # No metadata: tuspy sends an empty Upload-Metadata header, which is accepted as such; a
    # route that takes only typed files then refuses the untyped upload with 415, before any byte.
    c = client.TusClient(f"{base}/messageAttachment/tus", headers={"x-user": "ann"})
    uploader = c.uploader(file_stream=io.BytesIO(mp4(1 * MIB + 3, 2)), chunk_size=1 * MIB)
    try:
        uploader.upload()
    except TusCommunicationError as e:
        if e.status_code != 415:
            raise
        return
    raise AssertionError("an untyped upload was taken by a typed route")


def main():
    base, data_dir = sys.argv[1].rstrip("/"), sys.argv[2]
    checks = {
        "with metadata": lambda: upload(
            base,
            data_dir,
            "mediaPost",
            mp4(2 * MIB + 11, 1),
            metadata={"filename": "py.mp4", "filetype": "video/mp4", "input": json.dumps({"caption": "from tuspy"})},
        ),
        "without metadata": lambda: untyped(base),
        "with upload_checksum": lambda: upload(
            base,
            data_dir,
            "mediaPost",
            mp4(3 * MIB, 3),
            metadata={"filename": "sum.mp4", "filetype": "video/mp4", "input": json.dumps({"caption": "checked"})},
            upload_checksum=True,
        ),
    }
    passed = failed = 0
    for name, check in checks.items():
        try:
            check()
            print(f"ok   {name}")
            passed += 1
        except Exception as e:  # noqa: BLE001 - report every failure
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            failed += 1
    print(f"tuspy: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
