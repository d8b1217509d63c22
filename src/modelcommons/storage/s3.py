"""The content store on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, ...).

Selected by COMMONS_STORAGE_URL=s3://bucket?endpoint_url=http://host:port, with credentials
from the usual AWS variables. Every server process sees the same objects, so uploads in flight
(LFS parts, xorbs) and downloads can land on any process. Big files go up in parts (boto3's
transfer manager); reads are ranged; downloads can be handed to the store as presigned URLs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from modelcommons.errors import UnavailableError
from modelcommons.storage.base import CHUNK, ContentStore, StoredKey, sweep_staging

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PRESIGNED_SECONDS = 3600


class S3Store(ContentStore):
    remote = True

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str = "us-east-1",
        redirect: bool = True,
        staging: Path | None = None,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.redirect = redirect
        settings: dict[str, Any] = {
            "region_name": region,
            "config": Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=32,
            ),
        }
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            # A store without access control (a local SeaweedFS or MinIO in tests) still wants
            # signed requests; any key will do there.
            settings.update(aws_access_key_id="commons", aws_secret_access_key="commons")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, **settings)
        # URLs handed to clients are signed for the address they reach the store at.
        self.public_client = (
            boto3.client("s3", endpoint_url=public_endpoint_url, **settings)
            if public_endpoint_url
            else self.client
        )
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
        )
        self._staging = staging or Path(tempfile.gettempdir()) / "commons-staging"
        self._staging.mkdir(parents=True, exist_ok=True)
        sweep_staging(self._staging)
        self._ensure_bucket()

    @classmethod
    def from_url(cls, url: str, *, staging: Path | None = None) -> S3Store:
        """s3://bucket?endpoint_url=...&public_endpoint_url=...&region=...&redirect=false"""
        parsed = urlparse(url)
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return cls(
            parsed.netloc,
            endpoint_url=options.get("endpoint_url"),
            public_endpoint_url=options.get("public_endpoint_url"),
            region=options.get("region", "us-east-1"),
            redirect=options.get("redirect", "true").lower() not in ("0", "false", "no"),
            staging=staging,
        )

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except BotoCoreError as exc:  # no answer at all: say so in one line
            raise UnavailableError(
                f"Cannot reach the S3 store of COMMONS_STORAGE_URL: {exc}"
            ) from exc
        except ClientError:
            with contextlib.suppress(ClientError):  # another process made it meanwhile
                self.client.create_bucket(Bucket=self.bucket)

    def staging_dir(self) -> Path:
        return self._staging

    def put_file(self, key: str, source: Path) -> None:
        try:
            self.client.upload_file(str(source), self.bucket, key, Config=self.transfer)
        finally:
            source.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return
        wanted = f"bytes={start}-{'' if end is None else end - 1}"
        response = self.client.get_object(Bucket=self.bucket, Key=key, Range=wanted)
        yield from response["Body"].iter_chunks(CHUNK)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def iter_keys(self, prefix: str) -> Iterator[StoredKey]:
        from botocore.exceptions import BotoCoreError

        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    # Whole seconds: the end of that second, so nothing looks older than it is.
                    modified = item["LastModified"].timestamp() + 1
                    yield StoredKey(item["Key"], modified, item["Size"])
        except BotoCoreError as exc:
            raise UnavailableError(f"Cannot list the S3 store: {exc}") from exc

    def touch(self, key: str) -> bool:
        """A copy onto itself with new metadata: S3's way to renew an object's time."""
        from botocore.exceptions import ClientError

        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
                Metadata={"touched": str(time.time())},  # a copy onto itself must change something
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete_stale(self, key: str, before: float) -> bool:
        """S3 has no rename: the time is read just before the delete (a reuse in between,
        milliseconds wide, is the one window left)."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        if head["LastModified"].timestamp() + 1 >= before:  # S3 keeps whole seconds
            return False
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def presigned_url(self, key: str) -> str | None:
        if not self.redirect:
            return None
        # Whatever the bytes are (a user's HTML or SVG too), the store serves them as a download.
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": "application/octet-stream",
            "ResponseContentDisposition": "attachment",
        }
        url: str = self.public_client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=PRESIGNED_SECONDS
        )
        return url
