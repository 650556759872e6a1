//! The block-layer cache under the ext4 core: 4 KiB device blocks read by small requests
//! (inode tables, directories, bitmaps, extent nodes) kept in memory, written through.
//!
//! `rsext4` keeps only a few blocks itself and expects "the block-layer cache below this
//! crate" for the rest. Every access to the disk goes through this one wrapper, so the cache
//! stays coherent: a write goes to the device and updates the cached copies it covers; a read
//! of cached blocks is served from memory. Large requests (file data: the page cache above
//! keeps that) go straight to the device.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use rsext4::{BlockIo, DeviceCapabilities, DeviceGeometry, Ext4Error, Ext4ErrorKind, Ext4Result, SectorId, WriteFlags};

/// Bytes per cached block.
const BLK: usize = 4096;
/// Sectors per cached block.
const SPB: u64 = (BLK / 512) as u64;
/// Requests up to this size are cached; larger ones pass through.
pub const CACHE_REQUEST_MAX: usize = 16 << 10;
/// Blocks one inode load reads at most (the one wanted and those after it).
const PART_READ_AHEAD: u64 = 32;

struct Entry {
    data: Box<[u8; BLK]>,
    used: u64,
}

/// A device with a write-through cache of up to `capacity` blocks.
pub struct BlockCache<D: BlockIo> {
    dev: D,
    blocks: BTreeMap<u64, Entry>,
    capacity: usize,
    clock: u64,
    /// (hits, misses) of cached reads.
    pub stats: (u64, u64),
}

impl<D: BlockIo> BlockCache<D> {
    /// Cache up to `capacity` blocks of `dev`.
    pub fn new(dev: D, capacity: usize) -> Self {
        BlockCache { dev, blocks: BTreeMap::new(), capacity: capacity.max(16), clock: 0, stats: (0, 0) }
    }

    /// The device.
    pub fn inner(&self) -> &D {
        &self.dev
    }

    /// Make room: the least recently used eighth goes.
    fn evict(&mut self) {
        let mut ages: Vec<u64> = self.blocks.values().map(|e| e.used).collect();
        let k = (ages.len() / 8).max(1);
        ages.select_nth_unstable(k - 1);
        let cut = ages[k - 1];
        self.blocks.retain(|_, e| e.used > cut);
    }

    fn insert(&mut self, b: u64, data: &[u8]) {
        if self.blocks.len() >= self.capacity {
            self.evict();
        }
        // (One copy into a fresh allocation, no zeroing first.)
        let d: Box<[u8; BLK]> = data.to_vec().into_boxed_slice().try_into().expect("one block");
        self.clock += 1;
        self.blocks.insert(b, Entry { data: d, used: self.clock });
    }

    /// Copy `buf` (written at `sector`) into the cached blocks it overlaps.
    fn update(&mut self, buf: &[u8], sector: u64) {
        let start = sector * 512;
        let end = start + buf.len() as u64;
        let (first, last) = (start / BLK as u64, (end - 1) / BLK as u64);
        for (&b, e) in self.blocks.range_mut(first..=last) {
            let bs = b * BLK as u64;
            let (from, to) = (start.max(bs), end.min(bs + BLK as u64));
            e.data[(from - bs) as usize..(to - bs) as usize].copy_from_slice(&buf[(from - start) as usize..(to - start) as usize]);
        }
    }
}

impl<D: BlockIo> BlockIo for BlockCache<D> {
    fn read(&mut self, buf: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        let s = sector.raw();
        if buf.len() > CACHE_REQUEST_MAX || s % SPB != 0 || buf.len() % BLK != 0 {
            // (Uncached: the device holds what the cache holds, writes going through.)
            return self.dev.read(buf, sector, count);
        }
        let first = s / SPB;
        let n = buf.len() / BLK;
        let mut i = 0;
        while i < n {
            self.clock += 1;
            let clock = self.clock;
            if let Some(e) = self.blocks.get_mut(&(first + i as u64)) {
                e.used = clock;
                buf[i * BLK..(i + 1) * BLK].copy_from_slice(&e.data[..]);
                self.stats.0 += 1;
                i += 1;
                continue;
            }
            // A run of misses: one device read.
            let mut j = i + 1;
            while j < n && !self.blocks.contains_key(&(first + j as u64)) {
                j += 1;
            }
            let part = &mut buf[i * BLK..j * BLK];
            self.dev.read(part, SectorId::new((first + i as u64) * SPB), ((j - i) as u64 * SPB) as u32)?;
            for k in i..j {
                self.insert(first + k as u64, &buf[k * BLK..(k + 1) * BLK]);
            }
            self.stats.1 += (j - i) as u64;
            i = j;
        }
        Ok(())
    }
    /// Part of one block (an inode of an inode-table block): copied out of the cached block,
    /// which a miss reads and keeps.
    fn read_part(&mut self, out: &mut [u8], sector: SectorId, count: u32, offset: usize) -> Ext4Result<()> {
        let s = sector.raw();
        let end = offset.checked_add(out.len()).filter(|&end| end <= count as usize * 512);
        let Some(end) = end else {
            return Err(Ext4Error::new(Ext4ErrorKind::Corrupted));
        };
        if s % SPB != 0 || count as u64 != SPB {
            let mut buf = alloc::vec![0u8; count as usize * 512];
            self.read(&mut buf, sector, count)?;
            out.copy_from_slice(&buf[offset..end]);
            return Ok(());
        }
        let b = s / SPB;
        self.clock += 1;
        if !self.blocks.contains_key(&b) {
            // An inode table is read in order (a listing's files were made one after the
            // other): the blocks after this one come in the same request, up to
            // PART_READ_AHEAD, the first cached one or the end of the disk (as Linux reads
            // ahead 32 inode-table blocks).
            let last = self.dev.geometry().block_count / SPB;
            let mut n = 1;
            let most = PART_READ_AHEAD.min(self.capacity as u64 / 4).max(1);
            while n < most && b + n < last && !self.blocks.contains_key(&(b + n)) {
                n += 1;
            }
            let mut buf = alloc::vec![0u8; n as usize * BLK];
            if self.dev.read(&mut buf, sector, (n * SPB) as u32).is_err() {
                // (Reading ahead is best effort: an error past the wanted block is not its.)
                n = 1;
                buf.truncate(BLK);
                self.dev.read(&mut buf, sector, SPB as u32)?;
            }
            // (The wanted block last: the newest, so the evictions these may cause spare it.)
            for k in (0..n as usize).rev() {
                self.insert(b + k as u64, &buf[k * BLK..(k + 1) * BLK]);
            }
            self.stats.1 += n;
        } else {
            self.stats.0 += 1;
        }
        let clock = self.clock;
        let e = self.blocks.get_mut(&b).expect("inserted above");
        e.used = clock;
        out.copy_from_slice(&e.data[offset..end]);
        Ok(())
    }
    /// File contents: the page cache above keeps them, so they pass by (the device holds
    /// what the cache holds: writes go through).
    fn read_data(&mut self, buf: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.dev.read(buf, sector, count)
    }
    fn write(&mut self, buf: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.write_with_flags(buf, sector, count, WriteFlags::empty())
    }
    fn write_with_flags(&mut self, buf: &[u8], sector: SectorId, count: u32, flags: WriteFlags) -> Ext4Result<()> {
        let r = if flags.is_empty() { self.dev.write(buf, sector, count) } else { self.dev.write_with_flags(buf, sector, count, flags) };
        match r {
            Ok(()) => {
                if !buf.is_empty() {
                    self.update(buf, sector.raw());
                }
                Ok(())
            }
            Err(e) => {
                // What reached the device is unknown: forget the blocks the write covers.
                let start = sector.raw() * 512;
                let end = start + buf.len().max(1) as u64;
                let gone: Vec<u64> = self.blocks.range(start / BLK as u64..=(end - 1) / BLK as u64).map(|(&b, _)| b).collect();
                for b in gone {
                    self.blocks.remove(&b);
                }
                Err(e)
            }
        }
    }
    fn geometry(&self) -> DeviceGeometry {
        self.dev.geometry()
    }
    fn capabilities(&self) -> DeviceCapabilities {
        self.dev.capabilities()
    }
    fn flush(&mut self) -> Ext4Result<()> {
        self.dev.flush()
    }
    fn barrier(&mut self) -> Ext4Result<()> {
        self.dev.barrier()
    }
    fn discard(&mut self, start: SectorId, count: u32) -> Ext4Result<()> {
        // (Discarded blocks read as anything: forget them.)
        let (first, last) = (start.raw() / SPB, (start.raw() + count.max(1) as u64 - 1) / SPB);
        let gone: Vec<u64> = self.blocks.range(first..=last).map(|(&b, _)| b).collect();
        for b in gone {
            self.blocks.remove(&b);
        }
        self.dev.discard(start, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory as a device, counting reads.
    struct Mem(Vec<u8>, usize, Option<u64>);
    impl BlockIo for Mem {
        fn write(&mut self, buf: &[u8], sector: SectorId, _c: u32) -> Ext4Result<()> {
            let s = sector.raw() as usize * 512;
            if s + buf.len() > self.0.len() {
                return Err(Ext4Error::new(Ext4ErrorKind::Io));
            }
            self.0[s..s + buf.len()].copy_from_slice(buf);
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8], sector: SectorId, _c: u32) -> Ext4Result<()> {
            let s = sector.raw() as usize * 512;
            // (A bad block: reads that cover it fail.)
            if self.2.is_some_and(|b| (b * 4096) as usize >= s && ((b * 4096) as usize) < s + buf.len()) {
                return Err(Ext4Error::new(Ext4ErrorKind::Io));
            }
            buf.copy_from_slice(&self.0[s..s + buf.len()]);
            self.1 += 1;
            Ok(())
        }
        fn geometry(&self) -> DeviceGeometry {
            DeviceGeometry::new(512, (self.0.len() / 512) as u64)
        }
        fn capabilities(&self) -> DeviceCapabilities {
            DeviceCapabilities::default()
        }
        fn flush(&mut self) -> Ext4Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reads_always_see_the_last_write() {
        let size = 1 << 20;
        let mut model = vec![0u8; size];
        let mut c = BlockCache::new(Mem(vec![0u8; size], 0, None), 16);
        let mut x: u64 = 12345;
        let mut rnd = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for step in 0..4000 {
            let sectors = [1u64, 2, 8, 16, 24, 64][rnd(6) as usize];
            let sector = rnd((size / 512) as u64 - sectors);
            let (s, n) = (sector as usize * 512, sectors as usize * 512);
            let op = rnd(6);
            if op < 2 {
                let data: Vec<u8> = (0..n).map(|i| (i as u64 ^ step) as u8).collect();
                c.write(&data, SectorId::new(sector), sectors as u32).unwrap();
                model[s..s + n].copy_from_slice(&data);
            } else if op == 2 {
                // Part of a block (aligned, as an inode of an inode table), or of an odd run.
                let (sector, sectors) = if rnd(2) == 0 { (sector & !7, 8) } else { (sector, sectors) };
                let (s, n) = (sector as usize * 512, sectors as usize * 512);
                let off = rnd(n as u64 - 1) as usize;
                let len = 1 + rnd((n - off) as u64) as usize;
                let mut out = vec![0u8; len];
                c.read_part(&mut out, SectorId::new(sector), sectors as u32, off).unwrap();
                assert_eq!(out, model[s + off..s + off + len], "step {step}: part {off}+{len} of {sector}");
            } else if op == 3 {
                let mut buf = vec![0u8; n];
                c.read_data(&mut buf, SectorId::new(sector), sectors as u32).unwrap();
                assert_eq!(buf, model[s..s + n], "step {step}: data read of {sectors} sectors at {sector}");
            } else {
                let mut buf = vec![0u8; n];
                c.read(&mut buf, SectorId::new(sector), sectors as u32).unwrap();
                assert_eq!(buf, model[s..s + n], "step {step}: read {sectors} sectors at {sector}");
            }
        }
        assert!(c.stats.0 > 0 && c.stats.1 > 0);
        assert!(c.blocks.len() <= 16);
        // A failed write forgets what it covered.
        let before = c.blocks.len();
        assert!(c.write(&[1u8; 4096], SectorId::new((size / 512) as u64 - 4), 8).is_err());
        assert!(c.blocks.len() <= before);
    }

    #[test]
    fn cached_blocks_are_not_read_again() {
        let mut c = BlockCache::new(Mem(vec![7u8; 1 << 20], 0, None), 64);
        let mut b = vec![0u8; 8192];
        c.read(&mut b, SectorId::new(16), 16).unwrap();
        c.read(&mut b, SectorId::new(16), 16).unwrap();
        assert_eq!(c.inner().1, 1);
        // Large requests pass through.
        let mut big = vec![0u8; 64 << 10];
        c.read(&mut big, SectorId::new(0), 128).unwrap();
        c.read(&mut big, SectorId::new(0), 128).unwrap();
        assert_eq!(c.inner().1, 3);
        // File contents pass by; a part of a cached block is copied out of it.
        let mut d = vec![0u8; 4096];
        c.read_data(&mut d, SectorId::new(64), 8).unwrap();
        c.read_data(&mut d, SectorId::new(64), 8).unwrap();
        assert_eq!(c.inner().1, 5);
        let mut part = [0u8; 256];
        c.read_part(&mut part, SectorId::new(16), 8, 512).unwrap();
        assert_eq!(c.inner().1, 5);
        assert!(c.read_part(&mut part, SectorId::new(16), 8, 4000).is_err());
        // A missed part reads the blocks after it in the same request (capacity 64: 16).
        c.read_part(&mut part, SectorId::new(100 * 8), 8, 0).unwrap();
        assert_eq!(c.inner().1, 6);
        for b in 101..116 {
            c.read_part(&mut part, SectorId::new(b * 8), 8, 256).unwrap();
        }
        assert_eq!(c.inner().1, 6);
        c.read_part(&mut part, SectorId::new(116 * 8), 8, 0).unwrap();
        assert_eq!(c.inner().1, 7);
        // ... never past the end of the disk (256 blocks).
        c.read_part(&mut part, SectorId::new(250 * 8), 8, 0).unwrap();
        c.read_part(&mut part, SectorId::new(255 * 8), 8, 0).unwrap();
        assert_eq!(c.inner().1, 8);
        // A bad block among those read ahead fails only itself.
        let mut c = BlockCache::new(Mem(vec![7u8; 1 << 20], 0, Some(40)), 64);
        c.read_part(&mut part, SectorId::new(38 * 8), 8, 0).unwrap();
        assert_eq!(part, [7u8; 256]);
        assert!(c.read_part(&mut part, SectorId::new(40 * 8), 8, 0).is_err());
    }
}
