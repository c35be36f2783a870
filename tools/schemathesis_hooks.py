"""Schemathesis hooks for `cargo xtask test` (tools/schemathesis.toml).

tus sends its bytes as `application/offset+octet-stream`, a media type schemathesis has no
serializer for: send the generated value's bytes as they are, as for application/octet-stream.
"""

import schemathesis
from schemathesis.transport.serialization import serialize_binary


@schemathesis.serializer("application/offset+octet-stream")
def tus_chunk(ctx, value):
    return serialize_binary(value)
