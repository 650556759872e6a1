//! Bitmap cache helpers.

use alloc::{collections::BTreeMap, sync::Arc, vec::Vec};

use crate::{
    BITMAP_CACHE_MAX,
    blockdev::*,
    bmalloc::{AbsoluteBN, BGIndex},
    config::USE_MULTILEVEL_CACHE,
    error::*,
};

/// Type of bitmap stored in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BitmapType {
    /// Block bitmap.
    Block,
    /// Inode bitmap.
    Inode,
}

/// Cache key for one bitmap in one block group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CacheKey {
    pub group_id: BGIndex,
    pub bitmap_type: BitmapType,
}

impl CacheKey {
    pub fn new_block(group_id: BGIndex) -> Self {
        Self {
            group_id,
            bitmap_type: BitmapType::Block,
        }
    }

    pub fn new_inode(group_id: BGIndex) -> Self {
        Self {
            group_id,
            bitmap_type: BitmapType::Inode,
        }
    }
}

/// Cached bitmap payload.
#[derive(Debug, Clone)]
pub struct CachedBitmap {
    /// Bitmap bytes.
    pub data: Arc<Vec<u8>>,
    /// Whether the cache entry is dirty.
    pub dirty: bool,
    /// Physical block storing the bitmap.
    pub block_num: AbsoluteBN,
    /// Access timestamp for LRU eviction.
    pub last_access: u64,
    /// Generation counter bumped on every access.
    pub generation: u64,
    /// Velox patch: the metadata checksum of `data` as last computed (`remember_csum`),
    /// cleared whenever `data` changes: verifying the bitmap before each allocation and
    /// checksumming it after no longer cost a CRC over the whole bitmap each.
    pub csum: Option<u32>,
    /// Velox patch 26: while `dirty`, the bytes that may differ from the block's latest image
    /// (the running transaction's, else the disk's), when the changes said so
    /// (`BitmapCache::modify_span`); `None`: any of them. A flush whose block the running
    /// transaction journals writes just these bytes into its image (a one-bit change undid and
    /// copied the whole 4 KiB block twice).
    pub span: Option<(usize, usize)>,
}

impl CachedBitmap {
    pub fn new(data: Vec<u8>, block_num: AbsoluteBN) -> Self {
        Self {
            data: Arc::new(data),
            dirty: false,
            block_num,
            last_access: 0,
            generation: 0,
            csum: None,
            span: None,
        }
    }

    /// Marks the bitmap entry dirty.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }
}

/// Bitmap cache owned exclusively by one mounted filesystem.
///
/// The cache deliberately has no internal lock. Callers need mutable access to
/// the mounted filesystem before changing cache state; an OS adapter may place
/// its own sleepable lock around that owner.
#[derive(Clone)]
pub struct BitmapCache {
    cache: BTreeMap<CacheKey, CachedBitmap>,
    max_entries: usize,
    access_counter: u64,
    /// (Velox patch 31.) Undo log of the open metadata transactions, as the data-block
    /// cache's: the first change of an entry in a transaction saves it as it was (`None`:
    /// absent or clean, dropped on failure); a failed transaction puts back what it saved.
    /// This replaced a copy of the whole cache per transaction.
    undo: Vec<(CacheKey, Option<CachedBitmap>)>,
    /// Where each open (nested) transaction's part of `undo` starts.
    undo_marks: Vec<usize>,
}

impl BitmapCache {
    /// Creates a bitmap cache.
    pub fn new(max_entries: usize) -> Self {
        Self {
            cache: BTreeMap::new(),
            max_entries,
            access_counter: 0,
            undo: Vec::new(),
            undo_marks: Vec::new(),
        }
    }

    /// (Velox patch 31.) Opens a (nested) metadata transaction's undo scope.
    pub(crate) fn begin_undo(&mut self) {
        self.undo_marks.push(self.undo.len());
    }

    /// Closes the innermost undo scope after success: what it saved stays for the scopes
    /// around it, and is dropped when the outermost one ends.
    pub(crate) fn commit_undo(&mut self) {
        if self.undo_marks.pop().is_some() && self.undo_marks.is_empty() {
            self.undo.clear();
        }
    }

    /// Closes the innermost undo scope after failure: every entry it changed is put back as
    /// it was when the scope opened (a clean one dropped: read again when next wanted, after
    /// the journal has put its image back).
    pub(crate) fn rollback_undo(&mut self) {
        let Some(mark) = self.undo_marks.pop() else { return };
        while self.undo.len() > mark {
            let Some((key, old)) = self.undo.pop() else { break };
            match old {
                Some(bitmap) => {
                    self.cache.insert(key, bitmap);
                }
                None => {
                    self.cache.remove(&key);
                }
            }
        }
    }

    /// Saves `key`'s entry before its first change in the innermost undo scope (a clean
    /// entry as absent, see `DataBlockCache::record`).
    fn record(&mut self, key: CacheKey) {
        let Some(&mark) = self.undo_marks.last() else { return };
        if self.undo[mark..].iter().any(|(saved, _)| *saved == key) {
            return;
        }
        let old = self.cache.get(&key).filter(|bitmap| bitmap.dirty).cloned();
        self.undo.push((key, old));
    }

    /// Creates a bitmap cache with the default size.
    pub fn create_default() -> Self {
        Self::new(BITMAP_CACHE_MAX)
    }

    /// Returns a cached bitmap, loading it from disk on demand.
    pub fn get_or_load<B: BlockIo>(
        &mut self,
        block_dev: &mut Jbd2Dev<B>,
        key: CacheKey,
        block_num: AbsoluteBN,
    ) -> Ext4Result<CachedBitmap> {
        self.ensure_loaded(block_dev, key, block_num)?;
        self.touch(key);
        self.cache.get(&key).cloned().ok_or(Ext4Error::corrupted())
    }

    fn ensure_loaded<B: BlockIo>(
        &mut self,
        block_dev: &mut Jbd2Dev<B>,
        key: CacheKey,
        block_num: AbsoluteBN,
    ) -> Ext4Result<()> {
        if self.cache.contains_key(&key) {
            return Ok(());
        }

        // Read first so a read failure cannot evict a valid cached entry.
        let mut data = alloc::vec![0u8; block_dev.block_size() as usize];
        block_dev.read_blocks(&mut data, block_num, 1)?;

        if self.cache.len() >= self.max_entries
            && let Some(victim_key) = self.lru_key()
        {
            let victim = self
                .cache
                .get(&victim_key)
                .cloned()
                .ok_or(Ext4Error::corrupted())?;
            if victim.dirty {
                Self::write_bitmap_static(block_dev, victim.block_num, &victim.data, victim.span)?;
            }
            self.record(victim_key);
            self.cache.remove(&victim_key);
        }

        self.record(key);
        self.cache.insert(key, CachedBitmap::new(data, block_num));
        Ok(())
    }

    fn touch(&mut self, key: CacheKey) {
        self.access_counter = self.access_counter.saturating_add(1);
        if let Some(bitmap) = self.cache.get_mut(&key) {
            bitmap.last_access = self.access_counter;
            bitmap.generation = bitmap.generation.saturating_add(1);
        }
    }

    fn lru_key(&self) -> Option<CacheKey> {
        self.cache
            .iter()
            .min_by_key(|(_, bitmap)| bitmap.last_access)
            .map(|(key, _)| *key)
    }

    /// Returns a cached bitmap without loading from disk.
    pub fn get(&self, key: &CacheKey) -> Option<CachedBitmap> {
        self.cache.get(key).cloned()
    }

    /// Returns an owned mutable-view snapshot and refreshes its LRU state.
    pub fn get_mut(&mut self, key: &CacheKey) -> Option<CachedBitmap> {
        self.touch(*key);
        self.cache.get(key).cloned()
    }

    /// Marks a cached bitmap dirty.
    pub fn mark_dirty(&mut self, key: &CacheKey) {
        if self.cache.contains_key(key) {
            self.record(*key);
        }
        if let Some(bitmap) = self.cache.get_mut(key) {
            bitmap.mark_dirty();
            bitmap.span = None; // (changes not said: any byte)
            bitmap.generation = bitmap.generation.saturating_add(1);
        }
    }

    /// Modifies one cached bitmap and marks it dirty.
    pub fn modify<B, F>(
        &mut self,
        block_dev: &mut Jbd2Dev<B>,
        key: CacheKey,
        block_num: AbsoluteBN,
        f: F,
    ) -> Ext4Result<()>
    where
        B: BlockIo,
        F: FnOnce(&mut [u8]),
    {
        self.modify_span(block_dev, key, block_num, |data| {
            f(data);
            None
        })
    }

    /// Velox patch 26: [`Self::modify`] whose change tells which bytes it changed:
    /// `Some((lo, hi))` (bytes `lo..hi`, empty when nothing changed), `None` for any.
    pub fn modify_span<B, F>(
        &mut self,
        block_dev: &mut Jbd2Dev<B>,
        key: CacheKey,
        block_num: AbsoluteBN,
        f: F,
    ) -> Ext4Result<()>
    where
        B: BlockIo,
        F: FnOnce(&mut [u8]) -> Option<(usize, usize)>,
    {
        self.ensure_loaded(block_dev, key, block_num)?;
        self.touch(key);
        self.record(key);

        let bitmap = self.cache.get_mut(&key).ok_or(Ext4Error::corrupted())?;
        let changed = f(Arc::make_mut(&mut bitmap.data).as_mut_slice());
        let len = bitmap.data.len();
        let changed = changed.filter(|&(lo, hi)| lo <= hi && hi <= len);
        bitmap.span = match (bitmap.dirty, bitmap.span, changed) {
            (false, _, c) => c,
            (true, Some((a, b)), Some((lo, hi))) if lo == hi => Some((a, b)),
            (true, Some((a, b)), Some((lo, hi))) if a == b => Some((lo, hi)),
            (true, Some((a, b)), Some((lo, hi))) => Some((a.min(lo), b.max(hi))),
            _ => None,
        };
        bitmap.csum = None;
        bitmap.mark_dirty();
        bitmap.generation = bitmap.generation.saturating_add(1);

        if !USE_MULTILEVEL_CACHE {
            let data = bitmap.data.clone();
            let (block_num, span) = (bitmap.block_num, bitmap.span);
            Self::write_bitmap_static(block_dev, block_num, &data, span)?;
            let bitmap = self.cache.get_mut(&key).ok_or(Ext4Error::corrupted())?;
            bitmap.dirty = false;
            bitmap.span = None;
            bitmap.generation = bitmap.generation.saturating_add(1);
        }
        Ok(())
    }

    /// Velox patch: record `csum` as the checksum of bitmap `key`'s current contents.
    pub(crate) fn remember_csum(&mut self, key: &CacheKey, csum: u32) {
        if let Some(b) = self.cache.get_mut(key) {
            b.csum = Some(csum);
        }
    }

    /// Evicts one cached bitmap.
    pub fn evict<B: BlockIo>(
        &mut self,
        block_dev: &mut Jbd2Dev<B>,
        key: &CacheKey,
    ) -> Ext4Result<()> {
        let Some(bitmap) = self.cache.get(key).cloned() else {
            return Ok(());
        };
        if bitmap.dirty {
            Self::write_bitmap_static(block_dev, bitmap.block_num, &bitmap.data, bitmap.span)?;
        }
        self.record(*key);
        self.cache.remove(key);
        Ok(())
    }

    /// Flushes all dirty bitmaps to disk.
    pub fn flush_all<B: BlockIo>(&mut self, block_dev: &mut Jbd2Dev<B>) -> Ext4Result<()> {
        let mut dirty = self
            .cache
            .iter()
            .filter(|(_, bitmap)| bitmap.dirty)
            .map(|(key, bitmap)| (*key, bitmap.block_num, bitmap.data.clone(), bitmap.span))
            .collect::<Vec<_>>();
        dirty.sort_by_key(|(_, block_num, ..)| *block_num);

        for (_, block_num, data, span) in &dirty {
            Self::write_bitmap_static(block_dev, *block_num, data, *span)?;
        }
        for (key, ..) in dirty {
            self.record(key);
            if let Some(bitmap) = self.cache.get_mut(&key) {
                bitmap.dirty = false;
                bitmap.span = None;
                bitmap.generation = bitmap.generation.saturating_add(1);
            }
        }
        Ok(())
    }

    /// Flushes one bitmap to disk.
    pub fn flush<B: BlockIo>(
        &mut self,
        block_dev: &mut Jbd2Dev<B>,
        key: &CacheKey,
    ) -> Ext4Result<()> {
        let Some(bitmap) = self.cache.get(key).cloned() else {
            return Ok(());
        };
        if bitmap.dirty {
            Self::write_bitmap_static(block_dev, bitmap.block_num, &bitmap.data, bitmap.span)?;
            self.record(*key);
            let bitmap = self.cache.get_mut(key).ok_or(Ext4Error::corrupted())?;
            bitmap.dirty = false;
            bitmap.span = None;
            bitmap.generation = bitmap.generation.saturating_add(1);
        }
        Ok(())
    }

    /// Clears the cache without flushing.
    pub fn clear(&mut self) {
        if !self.undo_marks.is_empty() {
            let keys: Vec<CacheKey> = self.cache.keys().copied().collect();
            for key in keys {
                self.record(key);
            }
        }
        self.cache.clear();
    }

    /// Returns cache statistics.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            total_entries: self.cache.len(),
            dirty_entries: self.cache.values().filter(|bitmap| bitmap.dirty).count(),
            max_entries: self.max_entries,
        }
    }

    fn write_bitmap_static<B: BlockIo>(
        block_dev: &mut Jbd2Dev<B>,
        block_num: AbsoluteBN,
        data: &[u8],
        span: Option<(usize, usize)>,
    ) -> Ext4Result<()> {
        let block_size = block_dev.block_size() as usize;
        // (Velox patch 26: just the changed bytes into the running transaction's image, when
        // it has one: the rest of it is the cached bitmap's already, see CachedBitmap::span.)
        if let Some((lo, hi)) = span
            && hi <= data.len().min(block_size)
            && !block_dev.has_unpublished_edit()
            && block_dev.update_journaled_block_part(block_num, lo, &data[lo..hi])?
        {
            return Ok(());
        }
        if data.len() >= block_size && !block_dev.has_unpublished_edit() {
            // (Velox patch 18: a whole block keeps nothing of the old one, so that is not
            // read; a block the running transaction journals takes it in place.)
            let data = &data[..block_size];
            if block_dev.update_journaled_block_part(block_num, 0, data)? {
                return Ok(());
            }
            return block_dev.write_blocks(data, block_num, 1, true);
        }
        let mut buffer = alloc::vec![0u8; block_size];
        block_dev.read_blocks(&mut buffer, block_num, 1)?;
        let len = core::cmp::min(data.len(), block_size);
        buffer[..len].copy_from_slice(&data[..len]);
        block_dev.write_blocks(&buffer, block_num, 1, true)
    }
}

/// Cache statistics.
#[derive(Debug, Clone, Copy)]
pub struct CacheStats {
    pub total_entries: usize,
    pub dirty_entries: usize,
    pub max_entries: usize,
}
