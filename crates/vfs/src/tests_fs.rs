//! Host tests of tmpfs and the path walk.

use crate::node::*;
use crate::path::*;
use crate::tmpfs::*;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_raw_sys::errno as e;

/// Pages on the host heap (the tests' page store, also used by `tmpfs::map_tests`).
pub(crate) struct Heap;
impl PageStore for Heap {
    type Page = Box<[u8; PAGE]>;
    fn alloc_zeroed(&self) -> Option<Self::Page> {
        Some(Box::new([0; PAGE]))
    }
    fn now(&self) -> Time {
        Time { sec: 1, nsec: 0 }
    }
}

fn fs(pages: usize) -> (Arc<TmpFs<Heap>>, Mounts, Loc) {
    let t = TmpFs::new(1, Heap, pages, 10_000, 0o755);
    let m = Mounts::new();
    let mnt = m.add(t.clone(), t.root(), None, b"tmpfs", 0).unwrap();
    let root = Loc { inode: t.root(), mnt };
    (t, m, root)
}

fn node(kind: FileType) -> NewNode<'static> {
    NewNode { kind, perm: 0o755, uid: 0, gid: 0, rdev: 0, target: b"" }
}

fn write(i: &InodeRef, off: u64, data: &[u8]) -> VResult<usize> {
    crate::write_bytes(&**i, off, data)
}

fn read(i: &InodeRef, off: u64, len: usize) -> Vec<u8> {
    crate::read_bytes(&**i, off, len).unwrap()
}

fn names(i: &InodeRef) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    i.readdir(0, &mut |d| {
        v.push(d.name.to_vec());
        true
    })
    .unwrap();
    v
}

#[test]
fn files_read_write_truncate() {
    let (t, _m, root) = fs(100);
    let f = root.inode.create(b"f", &node(FileType::Regular)).unwrap();
    assert_eq!(write(&f, 0, b"hello"), Ok(5));
    assert_eq!(write(&f, 10000, b"x"), Ok(1));
    assert_eq!(f.stat().size, 10001);
    let r = read(&f, 0, 20000);
    assert_eq!(r.len(), 10001);
    assert_eq!(&r[..5], b"hello");
    assert!(r[5..10000].iter().all(|&b| b == 0));
    assert_eq!(t.pages_used(), 2); // the hole in page 1 takes nothing
    f.truncate(3).unwrap();
    assert_eq!(t.pages_used(), 1);
    f.truncate(8).unwrap();
    assert_eq!(read(&f, 0, 100), b"hel\0\0\0\0\0");
    assert_eq!(root.inode.create(b"f", &node(FileType::Regular)).err(), Some(e::EEXIST));
    drop(f);
    root.inode.unlink(b"f", false).unwrap();
    assert_eq!(t.pages_used(), 0);
}

#[test]
fn append_and_enospc() {
    let (t, _m, root) = fs(2);
    let f = root.inode.create(b"f", &node(FileType::Regular)).unwrap();
    let mut at = 0u8;
    let r = f.write_at(0, 3 * PAGE, true, &mut |b| {
        b.fill(at);
        at += 1;
        Ok(())
    });
    assert_eq!(r, Ok((2 * PAGE, 2 * PAGE as u64))); // short write, then ENOSPC
    assert_eq!(f.write_at(0, 1, true, &mut |_| Ok(())).err(), Some(e::ENOSPC));
    assert_eq!(t.pages_used(), 2);
}

#[test]
fn static_contents_copy_on_write() {
    static DATA: &[u8] = b"0123456789";
    let (t, _m, root) = fs(10);
    let f = root.inode.create(b"f", &node(FileType::Regular)).unwrap();
    f.as_any().downcast_ref::<TmpInode<Heap>>().unwrap().set_static(DATA).unwrap();
    assert_eq!(f.static_bytes(), Some(DATA));
    assert_eq!(read(&f, 2, 3), b"234");
    assert_eq!(t.pages_used(), 0);
    write(&f, 1, b"X").unwrap();
    assert_eq!(f.static_bytes(), None);
    assert_eq!(read(&f, 0, 100), b"0X23456789");
    assert_eq!(DATA, b"0123456789");
}

#[test]
fn directories_and_links() {
    let (_t, _m, root) = fs(10);
    let d = root.inode.create(b"d", &node(FileType::Dir)).unwrap();
    assert_eq!(root.inode.stat().nlink, 3);
    let f = d.create(b"a", &node(FileType::Regular)).unwrap();
    d.link(b"b", &f).unwrap();
    assert_eq!(f.stat().nlink, 2);
    assert_eq!(names(&d), [&b"."[..], b"..", b"a", b"b"]);
    assert_eq!(root.inode.unlink(b"d", true).err(), Some(e::ENOTEMPTY));
    assert_eq!(root.inode.unlink(b"d", false).err(), Some(e::EISDIR));
    assert_eq!(d.unlink(b"a", true).err(), Some(e::ENOTDIR));
    d.unlink(b"a", false).unwrap();
    assert_eq!(f.stat().nlink, 1);
    d.unlink(b"b", false).unwrap();
    assert_eq!(f.stat().nlink, 0);
    assert_eq!(d.link(b"c", &f).err(), Some(e::ENOENT));
    root.inode.unlink(b"d", true).unwrap();
    assert_eq!(root.inode.stat().nlink, 2);
    assert_eq!(d.create(b"x", &node(FileType::Regular)).err(), Some(e::ENOENT));
    assert_eq!(root.inode.link(b"r", &root.inode).err(), Some(e::EPERM));
}

#[test]
fn readdir_positions_survive_changes() {
    let (_t, _m, root) = fs(10);
    for i in 0..10u8 {
        root.inode.create(&[b'a' + i], &node(FileType::Regular)).unwrap();
    }
    let mut first = Vec::new();
    root.inode
        .readdir(0, &mut |d| {
            first.push((d.name.to_vec(), d.next));
            first.len() < 5
        })
        .unwrap();
    let resume = first.last().unwrap().1;
    root.inode.unlink(b"b", false).unwrap(); // already listed
    root.inode.unlink(b"h", false).unwrap(); // not yet listed
    let mut rest = Vec::new();
    root.inode
        .readdir(resume, &mut |d| {
            rest.push(d.name.to_vec());
            true
        })
        .unwrap();
    assert_eq!(rest, [&b"d"[..], b"e", b"f", b"g", b"i", b"j"]);
}

#[test]
fn rename_rules() {
    let (_t, _m, root) = fs(10);
    let r = &root.inode;
    let a = r.create(b"a", &node(FileType::Dir)).unwrap();
    let b = a.create(b"b", &node(FileType::Dir)).unwrap();
    r.create(b"f", &node(FileType::Regular)).unwrap();
    r.create(b"g", &node(FileType::Regular)).unwrap();
    // Into its own subtree.
    assert_eq!(r.rename(b"a", &b, b"x", 0).err(), Some(e::EINVAL));
    // Directory over a file and file over a directory.
    assert_eq!(r.rename(b"a", r, b"f", 0).err(), Some(e::ENOTDIR));
    assert_eq!(r.rename(b"f", r, b"a", 0).err(), Some(e::EISDIR));
    // Over a non-empty directory.
    r.create(b"e", &node(FileType::Dir)).unwrap();
    assert_eq!(r.rename(b"e", r, b"a", 0).err(), Some(e::ENOTEMPTY));
    // NOREPLACE, plain replace, EXCHANGE.
    assert_eq!(r.rename(b"f", r, b"g", RENAME_NOREPLACE).err(), Some(e::EEXIST));
    r.rename(b"f", r, b"g", 0).unwrap();
    assert_eq!(r.lookup(b"f").err(), Some(e::ENOENT));
    r.rename(b"g", r, b"a", RENAME_EXCHANGE).unwrap();
    assert_eq!(r.lookup(b"g").unwrap().kind(), FileType::Dir);
    assert_eq!(r.lookup(b"a").unwrap().kind(), FileType::Regular);
    // Moving a directory updates its parent and name, and the link counts.
    r.rename(b"g", &r.lookup(b"e").unwrap(), b"moved", 0).unwrap();
    let e_dir = r.lookup(b"e").unwrap();
    assert_eq!(e_dir.stat().nlink, 3);
    let moved = e_dir.lookup(b"moved").unwrap();
    assert_eq!(moved.name_hint().unwrap(), b"moved");
    assert_eq!(moved.lookup(b"..").unwrap().id(), e_dir.id());
    assert_eq!(b.lookup(b"..").unwrap().id(), moved.id());
}

fn walker<'a>(root: &'a Loc, m: &'a Mounts, who: Who<'a>) -> Walker<'a> {
    Walker { root, mounts: m, who }
}

#[test]
fn walk_symlinks_dots_and_errors() {
    let (_t, m, root) = fs(10);
    let w = walker(&root, &m, Who::ROOT);
    let usr = root.inode.create(b"usr", &node(FileType::Dir)).unwrap();
    let bin = usr.create(b"bin", &node(FileType::Dir)).unwrap();
    bin.create(b"sh", &node(FileType::Regular)).unwrap();
    root.inode.create(b"bin", &NewNode { target: b"usr/bin", ..node(FileType::Symlink) }).unwrap();
    root.inode.create(b"loop", &NewNode { target: b"loop", ..node(FileType::Symlink) }).unwrap();
    root.inode.create(b"abs", &NewNode { target: b"/usr/./bin/../bin/sh", ..node(FileType::Symlink) }).unwrap();
    let sh = w.walk(&root, b"/bin/sh", true).unwrap();
    assert_eq!(sh.inode.kind(), FileType::Regular);
    assert_eq!(w.walk(&root, b"abs", true).unwrap().inode.id(), sh.inode.id());
    assert_eq!(w.walk(&root, b"abs", false).unwrap().inode.kind(), FileType::Symlink);
    assert_eq!(w.walk(&root, b"/../../usr/bin/sh", true).unwrap().inode.id(), sh.inode.id());
    assert_eq!(w.walk(&root, b"loop", true).err(), Some(e::ELOOP));
    assert_eq!(w.walk(&root, b"loop", false).unwrap().inode.kind(), FileType::Symlink);
    assert_eq!(w.walk(&root, b"/bin/sh/", true).err(), Some(e::ENOTDIR));
    assert_eq!(w.walk(&root, b"/bin/sh/..", true).err(), Some(e::ENOTDIR));
    assert_eq!(w.walk(&root, b"/nope/x", true).err(), Some(e::ENOENT));
    assert_eq!(w.walk(&root, b"", true).err(), Some(e::ENOENT));
    let long = vec![b'a'; 256];
    assert_eq!(w.walk(&root, &long, true).err(), Some(e::ENAMETOOLONG));
    // walk_parent
    let (d, last, trailing) = w.walk_parent(&root, b"/bin/new/").unwrap();
    assert_eq!((d.inode.id(), last, trailing), (bin.id(), &b"new"[..], true));
    let (d, last, _) = w.walk_parent(&root, b"x").unwrap();
    assert_eq!((d.inode.id(), last), (root.inode.id(), &b"x"[..]));
    assert_eq!(w.walk_parent(&root, b"/bin/sh/x").err(), Some(e::ENOTDIR));
    // path_of
    let b = w.walk(&root, b"/bin", true).unwrap();
    assert_eq!(w.path_of(&b).unwrap(), b"/usr/bin");
    assert_eq!(w.path_of(&root).unwrap(), b"/");
}

#[test]
fn mounts_cross_both_ways() {
    let (_t, m, root) = fs(10);
    let mnt = root.inode.create(b"mnt", &node(FileType::Dir)).unwrap();
    let at = Loc { mnt: root.mnt.clone(), inode: mnt.clone() };
    let other = TmpFs::new(2, Heap, 10, 100, 0o1777);
    let om = m.add(other.clone(), other.root(), Some(&at), b"none", 0).unwrap();
    other.root().create(b"inside", &node(FileType::Regular)).unwrap();
    let w = walker(&root, &m, Who::ROOT);
    let l = w.walk(&root, b"/mnt/inside", true).unwrap();
    assert_eq!(l.inode.id().0, 2);
    let top = w.walk(&root, b"/mnt", true).unwrap();
    assert!(top.is_mount_root());
    assert_eq!(w.walk(&top, b"..", true).unwrap().inode.id(), root.inode.id());
    assert_eq!(w.path_of(&top).unwrap(), b"/mnt");
    assert_eq!(w.path_of(&l).err(), Some(e::ENOTDIR)); // directories only
    // Busy while a location holds it; fine once dropped.
    assert_eq!(m.remove(&om, false, 1).err(), Some(e::EBUSY));
    drop((l, top));
    m.remove(&om, false, 1).unwrap();
    assert_eq!(w.walk(&root, b"/mnt/inside", true).err(), Some(e::ENOENT));
    // A chroot-like walker never leaves its root.
    let sub = Loc { mnt: root.mnt.clone(), inode: mnt };
    let w2 = walker(&sub, &m, Who::ROOT);
    assert_eq!(w2.walk(&sub, b"/../..", true).unwrap().inode.id(), sub.inode.id());
}

#[test]
fn permissions() {
    let (_t, m, root) = fs(10);
    let d = root.inode.create(b"private", &NewNode { perm: 0o700, ..node(FileType::Dir) }).unwrap();
    d.create(b"f", &node(FileType::Regular)).unwrap();
    let user = Who { uid: 1000, gid: 1000, groups: &[] };
    let w = walker(&root, &m, user);
    assert_eq!(w.walk(&root, b"/private/f", true).err(), Some(e::EACCES));
    assert_eq!(w.walk_parent(&root, b"/private/g").err(), Some(e::EACCES));
    let st = d.stat();
    assert!(!may(&st, &user, MAY_READ));
    assert!(may(&st, &Who::ROOT, MAY_READ | MAY_WRITE | MAY_EXEC));
    let f = root.inode.create(b"f", &NewNode { perm: 0o644, ..node(FileType::Regular) }).unwrap();
    assert!(!may(&f.stat(), &Who::ROOT, MAY_EXEC));
    assert!(may(&f.stat(), &user, MAY_READ));
    assert!(!may(&f.stat(), &user, MAY_WRITE));
    let grp = Who { uid: 5, gid: 7, groups: &[0] };
    assert!(may(&d.stat(), &Who { uid: 0, ..grp }, MAY_READ));
    let sticky = root.inode.create(b"tmp", &NewNode { perm: 0o1777, ..node(FileType::Dir) }).unwrap();
    let theirs = sticky.create(b"x", &NewNode { uid: 1, ..node(FileType::Regular) }).unwrap();
    assert_eq!(may_delete(&sticky.stat(), &theirs.stat(), &user), Err(e::EPERM));
    assert_eq!(may_delete(&sticky.stat(), &theirs.stat(), &Who { uid: 1, gid: 1, groups: &[] }), Ok(()));
}

#[test]
fn sparse_files_and_seek() {
    let (t, _m, root) = fs(100);
    let f = root.inode.create(b"s", &node(FileType::Regular)).unwrap();
    let mb = 1u64 << 20;
    write(&f, 4 * mb, &[1u8; PAGE]).unwrap();
    f.truncate(8 * mb).unwrap();
    assert_eq!(f.seek_data(0, false), Ok(4 * mb));
    assert_eq!(f.seek_data(0, true), Ok(0));
    assert_eq!(f.seek_data(4 * mb, true), Ok(4 * mb + PAGE as u64));
    assert_eq!(f.seek_data(4 * mb + PAGE as u64, false), Err(e::ENXIO));
    assert_eq!(f.seek_data(8 * mb - 1, true), Ok(8 * mb - 1));
    assert_eq!(f.seek_data(8 * mb, true), Err(e::ENXIO));
    // A write a terabyte out takes one page.
    write(&f, 1 << 40, b"end").unwrap();
    assert_eq!(f.stat().size, (1 << 40) + 3);
    assert_eq!(t.pages_used(), 2);
}

#[test]
fn fallocate_is_all_or_nothing() {
    let (t, _m, root) = fs(4);
    let f = root.inode.create(b"f", &node(FileType::Regular)).unwrap();
    assert_eq!(f.allocate(0, 8 * PAGE as u64, false), Err(e::ENOSPC));
    assert_eq!(t.pages_used(), 0);
    assert_eq!(f.stat().size, 0);
    f.allocate(0, 2 * PAGE as u64, false).unwrap();
    assert_eq!((t.pages_used(), f.stat().size), (2, 2 * PAGE as u64));
}

#[test]
fn unmounted_tmpfs_is_freed() {
    let (_t, m, root) = fs(10);
    let mnt = root.inode.create(b"mnt", &node(FileType::Dir)).unwrap();
    let at = Loc { mnt: root.mnt.clone(), inode: mnt };
    let other = TmpFs::new(2, Heap, 10, 100, 0o1777);
    let weak = Arc::downgrade(&other);
    let om = m.add(other.clone(), other.root(), Some(&at), b"none", 0).unwrap();
    let f = other.root().create(b"f", &node(FileType::Regular)).unwrap();
    write(&f, 0, b"data").unwrap();
    drop((f, other));
    m.remove(&om, false, 1).unwrap();
    drop(om);
    assert!(weak.upgrade().is_none(), "the file system, its files and pages are gone");
}

#[test]
fn checked_unlink_and_rename_see_the_entry_removed() {
    let (_t, _m, root) = fs(10);
    let r = &root.inode;
    r.create(b"mine", &NewNode { uid: 5, ..node(FileType::Regular) }).unwrap();
    r.create(b"theirs", &NewNode { uid: 6, ..node(FileType::Regular) }).unwrap();
    let only_mine = |i: &dyn Inode| if i.perm().1 == 5 { Ok(()) } else { Err(e::EPERM) };
    assert_eq!(r.unlink_checked(b"theirs", false, &mut |i| only_mine(i)), Err(e::EPERM));
    assert!(r.lookup(b"theirs").is_ok());
    // A rename whose replaced entry fails the check changes nothing.
    let res = r.rename_checked(b"mine", r, b"theirs", 0, &mut |_, v| v.map_or(Ok(()), |v| only_mine(v)));
    assert_eq!(res, Err(e::EPERM));
    assert!(r.lookup(b"mine").is_ok() && r.lookup(b"theirs").unwrap().perm().1 == 6);
    r.unlink_checked(b"mine", false, &mut |i| only_mine(i)).unwrap();
    assert_eq!(r.lookup(b"mine").err(), Some(e::ENOENT));
}
