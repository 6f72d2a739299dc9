"""A real S3-compatible server for the media tests (shop/tests/test_media_s3.py, e2e/test_media.py):
moto's server mode in a thread of the test process, on a free loopback port, and buckets on it."""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO

import boto3
from PIL import Image

KEYS = {"access_key": "AKIDMEDIATEST", "secret_key": "media-test-secret"}
REGION = "us-east-1"


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Yields the server's address, http://127.0.0.1:PORT; real HTTP, answered by moto."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
    )


def bucket_new(endpoint: str) -> tuple[str, str]:
    """A new bucket whose objects anyone may read (the policy docs/operations.md gives); returns its
    name and the MEDIA_STORAGE_URL that points the shop at it."""
    name = f"shop-media-{uuid.uuid4().hex[:12]}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name, f"s3://{name}?endpoint_url={endpoint}&region={REGION}"


def picture_bytes(size: tuple[int, int], colour: str, *, format: str = "PNG") -> bytes:
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format=format)
    return out.getvalue()
