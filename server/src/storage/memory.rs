//! An in-memory backend for tests: same contract as the disk, no disk.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};

use super::{
    check_key, check_object_path, ListStorage, Listed, StagedWrite, Storage, StoredObject, Target,
};

type Map = Arc<Mutex<HashMap<String, (Bytes, SystemTime)>>>;

/// Storage in process memory, for tests: the same contract as
/// [`LocalStorage`](crate::LocalStorage), no disk. Clones share the objects; everything is lost
/// when the last clone drops.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    /// Bytes and when they were written, by key (objects under `objects/`).
    objects: Map,
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
        self.objects
            .lock()
            .unwrap()
            .get(key)
            .map(|(b, _)| b.clone())
    }

    /// Backdates an entry (a route key, or `objects/<path>`), as if written at `when`: for
    /// tests of the sweeper's grace period. `false` when there is no such entry.
    pub fn set_modified(&self, key: &str, when: SystemTime) -> bool {
        match self.objects.lock().unwrap().get_mut(key) {
            Some(e) => {
                e.1 = when;
                true
            }
            None => false,
        }
    }

    fn list(&self, objects: bool, before: SystemTime) -> Vec<Listed> {
        let mut out: Vec<Listed> = self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (_, m))| *m < before)
            .filter_map(|(k, (_, m))| {
                let name = match k.strip_prefix("objects/") {
                    Some(path) if objects => path.to_string(),
                    None if !objects => k.clone(),
                    _ => return None,
                };
                Some(Listed { name, modified: *m })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn remove_if_older(&self, key: &str, before: SystemTime) -> bool {
        let mut map = self.objects.lock().unwrap();
        if map.get(key).is_some_and(|(_, m)| *m < before) {
            map.remove(key);
            true
        } else {
            false
        }
    }

    /// A signed-upload object's bytes.
    pub fn get_object(&self, path: &str) -> Option<Bytes> {
        self.get(&object_key(path))
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn stage(&self, target: Target) -> io::Result<Box<dyn StagedWrite>> {
        target.check()?;
        Ok(Box::new(MemoryStaged {
            objects: self.objects.clone(),
            target,
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

    fn as_list(&self) -> Option<&dyn ListStorage> {
        Some(self)
    }
}

#[async_trait]
impl ListStorage for MemoryStorage {
    async fn list_keys(&self, before: SystemTime) -> io::Result<Vec<Listed>> {
        Ok(self.list(false, before))
    }

    async fn list_objects(&self, before: SystemTime) -> io::Result<Vec<Listed>> {
        Ok(self.list(true, before))
    }

    async fn delete_if_older(&self, key: &str, before: SystemTime) -> io::Result<bool> {
        check_key(key)?;
        Ok(self.remove_if_older(key, before))
    }

    async fn delete_object_if_older(&self, path: &str, before: SystemTime) -> io::Result<bool> {
        check_object_path(path)?;
        Ok(self.remove_if_older(&object_key(path), before))
    }
}

/// Objects share the map with route uploads; route keys never contain `/`, so no clash.
fn object_key(path: &str) -> String {
    format!("objects/{path}")
}

struct MemoryStaged {
    objects: Map,
    target: Target,
    buf: BytesMut,
}

#[async_trait]
impl StagedWrite for MemoryStaged {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> io::Result<()> {
        let (key, replace) = match self.target {
            Target::Key(key) => (key, false),
            Target::Object { path, replace } => (object_key(&path), replace),
        };
        let mut objects = self.objects.lock().unwrap();
        if !replace && objects.contains_key(&key) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists"));
        }
        objects.insert(key, (self.buf.freeze(), SystemTime::now()));
        Ok(())
    }
}
