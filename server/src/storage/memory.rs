//! An in-memory backend for tests: same contract as the disk, no disk.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};

use super::{check_key, check_object_path, StagedWrite, Storage, StoredObject};

/// Storage in process memory, for tests: the same contract as
/// [`LocalStorage`](crate::LocalStorage), no disk. Clones share the objects; everything is lost
/// when the last clone drops.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    objects: Arc<Mutex<HashMap<String, Bytes>>>,
}

impl MemoryStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of committed objects.
    pub fn len(&self) -> usize {
        self.objects.lock().unwrap().len()
    }

    /// Whether no object is committed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A committed file's bytes, by its storage key.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        self.objects.lock().unwrap().get(key).cloned()
    }

    /// A signed-upload object's bytes.
    pub fn get_object(&self, path: &str) -> Option<Bytes> {
        self.get(&object_key(path))
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn stage(&self) -> io::Result<Box<dyn StagedWrite>> {
        Ok(Box::new(MemoryStaged {
            objects: self.objects.clone(),
            buf: BytesMut::new(),
        }))
    }

    async fn open(&self, key: &str) -> io::Result<Option<StoredObject>> {
        check_key(key)?;
        Ok(self.get(key).map(StoredObject::Bytes))
    }

    async fn delete(&self, key: &str) -> io::Result<bool> {
        Ok(self.objects.lock().unwrap().remove(key).is_some())
    }

    async fn open_object(&self, path: &str) -> io::Result<Option<StoredObject>> {
        check_object_path(path)?;
        Ok(self.get_object(path).map(StoredObject::Bytes))
    }

    async fn delete_object(&self, path: &str) -> io::Result<bool> {
        check_object_path(path)?;
        Ok(self
            .objects
            .lock()
            .unwrap()
            .remove(&object_key(path))
            .is_some())
    }
}

/// Objects share the map with route uploads; route keys never contain `/`, so no clash.
fn object_key(path: &str) -> String {
    format!("objects/{path}")
}

struct MemoryStaged {
    objects: Arc<Mutex<HashMap<String, Bytes>>>,
    buf: BytesMut,
}

#[async_trait]
impl StagedWrite for MemoryStaged {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    async fn commit(self: Box<Self>, key: &str) -> io::Result<()> {
        check_key(key)?;
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(key) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "key exists"));
        }
        objects.insert(key.to_string(), self.buf.freeze());
        Ok(())
    }

    async fn commit_object(self: Box<Self>, path: &str, replace: bool) -> io::Result<()> {
        check_object_path(path)?;
        let key = object_key(path);
        let mut objects = self.objects.lock().unwrap();
        if !replace && objects.contains_key(&key) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "object exists",
            ));
        }
        objects.insert(key, self.buf.freeze());
        Ok(())
    }
}
