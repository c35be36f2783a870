//! Resumable (tus) uploads kept in the bucket, so an instance holds nothing another one needs.
//!
//! For upload `key`, with the configured part size P, under the prefix:
//! - a multipart upload to `tus/{key}` holds the upload's whole parts: part n is the bytes
//!   `[(n-1)·P, n·P)`;
//! - `tus/{key}.rest.{b}` holds the bytes from the part boundary `b` up to the recorded offset
//!   (less than one part), written when a PATCH ends between two boundaries (as tusd does);
//! - on the last byte the last part is sent and the multipart upload completed: `tus/{key}`
//!   is then the whole upload, which [`ResumableStore::adopt`] copies (inside the bucket) to
//!   the stored file.
//!
//! Parts and rests are named by their position, and a write only ever starts at the recorded
//! offset: a crash at any point leaves the bytes up to the recorded offset where they were
//! (parts below its boundary, the rest of its boundary), whatever was sent after it. A
//! checkpoint in the middle of a PATCH records the last part boundary sent.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use rusty_s3::S3Action;

use super::{bad_xml, error_code, Inner, Part, MAX_COPY, MAX_LIST_PAGES, MAX_PARTS, REQUEST_TTL};
use crate::storage::{check_key, ResumableStore, ResumableWrite, Storage};

/// Upload ids remembered (they save a listing per PATCH); beyond, the map starts afresh.
const MAX_IDS: usize = 10_000;

/// The resumable store of an `S3Storage`.
#[derive(Clone)]
pub(super) struct S3Resumable {
    inner: Arc<Inner>,
    /// The multipart upload of each upload this process wrote parts of, by bucket key.
    ids: Arc<Mutex<HashMap<String, String>>>,
}

impl S3Resumable {
    pub(super) fn new(inner: Arc<Inner>) -> Self {
        S3Resumable {
            inner,
            ids: Arc::default(),
        }
    }

    fn object(&self, key: &str) -> io::Result<String> {
        check_key(key)?;
        Ok(format!("{}tus/{key}", self.inner.prefix))
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // Plain values: a panic elsewhere leaves the map consistent.
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The multipart upload to `object`: remembered, found in the bucket, or (with `create`)
    /// started.
    async fn upload_id(&self, object: &str, create: bool) -> io::Result<Option<String>> {
        if let Some(id) = self.ids().get(object) {
            return Ok(Some(id.clone()));
        }
        let found = self
            .inner
            .list_multipart(object)
            .await?
            .into_iter()
            .filter(|(o, _, _)| o == object)
            .min_by_key(|(_, _, initiated)| *initiated)
            .map(|(_, id, _)| id);
        let id = match (found, create) {
            (Some(id), _) => id,
            (None, true) => self.inner.create_multipart(object).await?,
            (None, false) => return Ok(None),
        };
        let mut ids = self.ids();
        if ids.len() >= MAX_IDS {
            ids.clear();
        }
        ids.insert(object.to_string(), id.clone());
        Ok(Some(id))
    }
}

#[async_trait]
impl ResumableStore for S3Resumable {
    /// Nothing to make: an upload without bytes has nothing in the bucket.
    async fn create(&self, key: &str) -> io::Result<()> {
        check_key(key)
    }

    async fn append(&self, key: &str, offset: u64) -> io::Result<Box<dyn ResumableWrite>> {
        let object = self.object(key)?;
        let part_size = self.inner.part_size as u64;
        let boundary = offset - offset % part_size;
        let mut buf = Part::default();
        if offset > boundary {
            let want = (offset - boundary) as usize;
            let rest = rest_object(&object, boundary);
            match self.inner.get_range(&rest, want).await? {
                Some(bytes) if bytes.len() == want => buf.push(bytes),
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the bucket lacks bytes of this upload that were recorded",
                    ))
                }
            }
        }
        Ok(Box::new(S3Write {
            store: self.clone(),
            object,
            part_size,
            start: offset,
            boundary,
            buf,
            written: offset,
        }))
    }

    async fn read(&self, key: &str) -> io::Result<BoxStream<'static, io::Result<Bytes>>> {
        let object = self.object(key)?;
        let url = self
            .inner
            .bucket
            .get_object(self.inner.creds(), &object)
            .sign(REQUEST_TTL);
        let res = self.inner.send(self.inner.http.get(url), "GET").await?;
        Ok(res
            .bytes_stream()
            .map_err(|e| io::Error::other(format!("S3 GET: {}", e.without_url())))
            .boxed())
    }

    /// A `CopyObject` inside the bucket, to the storage this store belongs to (`into` is the
    /// `S3Storage` that made it). Uploads over 5 GiB, which one copy cannot take, are copied
    /// through the server instead.
    async fn adopt(&self, key: &str, length: u64, _into: &dyn Storage) -> io::Result<bool> {
        if length > MAX_COPY {
            return Ok(false);
        }
        let source = self.object(key)?;
        let target = self.inner.file_key(key);
        if self.inner.head(&target).await?.is_some() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists"));
        }
        self.inner.copy(&source, &target, None).await?;
        Ok(true)
    }

    async fn remove(&self, key: &str) -> io::Result<bool> {
        let object = self.object(key)?;
        let mut removed = false;
        for (o, id, _) in self.inner.list_multipart(&object).await? {
            if o == object {
                self.inner.abort(&o, &id).await?;
                removed = true;
            }
        }
        self.ids().remove(&object);
        removed |= self.inner.remove(&object).await?;
        let rests = format!("{object}.rest.");
        for listed in self.inner.list(&rests, SystemTime::now() + FUTURE).await? {
            self.inner
                .delete(&format!("{rests}{}", listed.name))
                .await?;
            removed = true;
        }
        Ok(removed)
    }

    async fn list(&self, before: SystemTime) -> io::Result<Vec<String>> {
        let under = format!("{}tus/", self.inner.prefix);
        let mut keys: Vec<String> = self
            .inner
            .list(&under, before)
            .await?
            .into_iter()
            .map(|l| l.name)
            .chain(
                self.inner
                    .list_multipart(&under)
                    .await?
                    .into_iter()
                    .filter(|(_, _, initiated)| *initiated < before)
                    .filter_map(|(o, _, _)| o.strip_prefix(&under).map(str::to_string)),
            )
            .filter_map(|name| {
                let key = name.split('.').next().unwrap_or_default();
                check_key(key).is_ok().then(|| key.to_string())
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }
}

/// Far enough ahead that a listing "written before" it takes everything.
const FUTURE: std::time::Duration = std::time::Duration::from_secs(86_400);

fn rest_object(object: &str, boundary: u64) -> String {
    format!("{object}.rest.{boundary}")
}

/// One PATCH's bytes on their way to the bucket: whole parts as soon as they fill, the rest
/// when the PATCH ends.
struct S3Write {
    store: S3Resumable,
    object: String,
    part_size: u64,
    /// The offset the write started at (the recorded one).
    start: u64,
    /// The offset of `buf`'s first byte: a part boundary, below which every part was sent.
    boundary: u64,
    buf: Part,
    written: u64,
}

impl S3Write {
    async fn send_part(&mut self, part: Part) -> io::Result<()> {
        let number = self.boundary / self.part_size + 1;
        let number = u16::try_from(number)
            .ok()
            .filter(|n| usize::from(*n) <= MAX_PARTS)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "the upload needs more than 10,000 parts of the configured part size",
                )
            })?;
        let id = self
            .store
            .upload_id(&self.object, true)
            .await?
            .expect("created when missing");
        self.store
            .inner
            .upload_part(&self.object, &id, number, part)
            .await?;
        Ok(())
    }

    /// Sends the last part and completes the multipart upload: `tus/{key}` is the upload.
    async fn complete(mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.buf);
        if self.boundary == 0 {
            // Under one part: one object. (A multipart upload a crashed process started for
            // it goes with the upload's other leftovers in `remove`.)
            return self.store.inner.put(&self.object, rest, false).await;
        }
        let mut parts = self.boundary / self.part_size;
        if rest.len > 0 {
            self.send_part(rest).await?;
            parts += 1;
        }
        let id = self
            .store
            .upload_id(&self.object, false)
            .await?
            .ok_or_else(|| io::Error::other("the upload's multipart upload is gone"))?;
        let etags = self
            .store
            .inner
            .part_etags(&self.object, &id, parts, self.written, self.part_size)
            .await?;
        self.store
            .inner
            .complete(&self.object, &id, &etags, false)
            .await?;
        self.store.ids().remove(&self.object);
        Ok(())
    }
}

#[async_trait]
impl ResumableWrite for S3Write {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.written += chunk.len() as u64;
        let mut rest = chunk;
        while !rest.is_empty() {
            let take = (self.part_size as usize - self.buf.len).min(rest.len());
            self.buf.push(rest.split_to(take));
            if self.buf.len as u64 == self.part_size {
                let part = std::mem::take(&mut self.buf);
                self.send_part(part).await?;
                self.boundary += self.part_size;
            }
        }
        Ok(())
    }

    /// Parts are durable once sent: the last boundary is.
    async fn checkpoint(&mut self) -> io::Result<u64> {
        Ok(self.boundary)
    }

    async fn finish(self: Box<Self>, keep: u64, last: bool) -> io::Result<()> {
        if keep < self.written {
            // A refused PATCH keeps an offset that was durable: where it started (its rest
            // object untouched) or a boundary it recorded (no rest).
            return if keep == self.start
                || (keep.is_multiple_of(self.part_size) && keep <= self.boundary)
            {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a PATCH can only fall back to an offset that was durable",
                ))
            };
        }
        if last {
            return (*self).complete().await;
        }
        let this = *self;
        if this.buf.len > 0 {
            let rest = rest_object(&this.object, this.boundary);
            this.store.inner.put(&rest, this.buf, false).await?;
        }
        Ok(())
    }
}

impl Inner {
    /// The ETags of parts 1 to `count` of a multipart upload, checked: each there, every one
    /// but the last exactly `part_size` bytes, `length` bytes in all.
    async fn part_etags(
        &self,
        object: &str,
        upload_id: &str,
        count: u64,
        length: u64,
        part_size: u64,
    ) -> io::Result<Vec<String>> {
        let mut etags = Vec::with_capacity(count as usize);
        let mut total = 0;
        let mut marker: Option<u16> = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut action = self.bucket.list_parts(self.creds(), object, upload_id);
            if let Some(m) = marker {
                action.set_part_number_marker(m);
            }
            let url = action.sign(REQUEST_TTL);
            let res = self.send(self.http.get(url), "ListParts").await?;
            let text = res.text().await.map_err(io::Error::other)?;
            let page = rusty_s3::actions::ListParts::parse_response(&text).map_err(bad_xml)?;
            for part in page.parts {
                let n = u64::from(part.number);
                if n > count {
                    continue; // sent by a PATCH that was refused, past the upload's end
                }
                let expected = if n < count {
                    part_size
                } else {
                    length - part_size * (count - 1)
                };
                if n != etags.len() as u64 + 1 || part.size != expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("part {n} of the upload is missing or has the wrong size"),
                    ));
                }
                total += part.size;
                etags.push(part.etag);
            }
            match page.next_part_number_marker {
                Some(m) if (etags.len() as u64) < count => marker = Some(m),
                _ => break,
            }
        }
        if etags.len() as u64 != count || total != length {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the upload's parts do not add up to its length",
            ));
        }
        Ok(etags)
    }

    /// `CopyObject` of `source` to `target`, both in the bucket; with `if_match`, only while
    /// `source` still has that ETag (else [`io::ErrorKind::AlreadyExists`], S3's 412).
    pub(super) async fn copy(
        &self,
        source: &str,
        target: &str,
        if_match: Option<&str>,
    ) -> io::Result<()> {
        self.copy_with(source, target, if_match, false).await
    }

    /// [`Inner::copy`]; with `fresh_metadata`, the copy keeps none of the source's headers
    /// (`Content-Encoding`, `Cache-Control`… a client may have sent with it): it is stored as
    /// plain `application/octet-stream`, and downloads name their type themselves.
    pub(super) async fn copy_with(
        &self,
        source: &str,
        target: &str,
        if_match: Option<&str>,
        fresh_metadata: bool,
    ) -> io::Result<()> {
        use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
        const KEEP: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'/')
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let from = format!(
            "/{}/{}",
            self.bucket.name(),
            utf8_percent_encode(source, KEEP)
        );
        let mut action = self.bucket.put_object(self.creds(), target);
        action.headers_mut().insert("x-amz-copy-source", &from);
        if let Some(etag) = if_match {
            action
                .headers_mut()
                .insert("x-amz-copy-source-if-match", etag);
        }
        if fresh_metadata {
            action
                .headers_mut()
                .insert("x-amz-metadata-directive", "REPLACE");
            action
                .headers_mut()
                .insert("content-type", "application/octet-stream");
        }
        let url = action.sign(REQUEST_TTL);
        let mut req = self.http.put(url).header("x-amz-copy-source", &from);
        if let Some(etag) = if_match {
            req = req.header("x-amz-copy-source-if-match", etag);
        }
        if fresh_metadata {
            req = req
                .header("x-amz-metadata-directive", "REPLACE")
                .header("content-type", "application/octet-stream");
        }
        let res = self.send(req, "CopyObject").await?;
        // S3 may answer 200 and still report an error in the body.
        let text = res.text().await.map_err(io::Error::other)?;
        if text.contains("<Error>") {
            return Err(io::Error::other(format!(
                "S3 CopyObject failed: {}",
                error_code(&text).unwrap_or("unknown error")
            )));
        }
        Ok(())
    }
}
