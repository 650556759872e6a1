//! Host tests of the socket buffer rules.

use super::*;
use alloc::vec;

fn collect(q: &mut MsgQueue<u32>, len: usize, peek: bool) -> (Vec<u8>, Option<u32>) {
    let mut v = Vec::new();
    let (n, a) = q.read_stream::<()>(len, peek, &mut |b| {
        v.extend_from_slice(b);
        Ok(())
    })
    .unwrap();
    assert_eq!(n, v.len());
    (v, a)
}

#[test]
fn stream_reads_glue_messages_and_stop_after_ancillary_data() {
    let mut q = MsgQueue::new();
    q.push(b"ab".to_vec(), None, None, 2).unwrap();
    q.push(b"cd".to_vec(), Some(7), None, 2).unwrap();
    q.push(b"ef".to_vec(), Some(8), None, 2).unwrap();
    q.push(b"gh".to_vec(), None, None, 2).unwrap();
    assert_eq!(q.bytes(), 8);
    // Peeking sees the first descriptors and consumes nothing.
    assert_eq!(collect(&mut q, 100, true), (b"abcd".to_vec(), Some(7)));
    assert_eq!(collect(&mut q, 100, false), (b"abcd".to_vec(), Some(7)));
    // A partial read of a message with descriptors takes them; the rest comes without.
    assert_eq!(collect(&mut q, 1, false), (b"e".to_vec(), Some(8)));
    assert_eq!(collect(&mut q, 100, false), (b"fgh".to_vec(), None));
    assert!(q.is_empty());
    assert_eq!((q.bytes(), q.charged()), (0, 0));
}

#[test]
fn a_failed_copy_consumes_nothing() {
    let mut q: MsgQueue<u32> = MsgQueue::new();
    q.push(b"xyz".to_vec(), Some(1), None, 3).unwrap();
    assert_eq!(q.read_stream(3, false, &mut |_| Err(14)), Err(14));
    assert_eq!(q.bytes(), 3);
    assert_eq!(collect(&mut q, 3, false), (b"xyz".to_vec(), Some(1)));
}

#[test]
fn a_copy_failing_part_way_returns_what_was_copied() {
    let mut q: MsgQueue<u32> = MsgQueue::new();
    q.push(b"ab".to_vec(), None, None, 2).unwrap();
    q.push(b"cd".to_vec(), None, None, 2).unwrap();
    let mut calls = 0;
    let r = q.read_stream(4, false, &mut |_| {
        calls += 1;
        if calls == 2 { Err(14) } else { Ok(()) }
    });
    assert_eq!(r, Ok((2, None)));
    assert_eq!(collect(&mut q, 4, false), (b"cd".to_vec(), None));
}

#[test]
fn datagrams_keep_boundaries_and_truncate() {
    let mut q: MsgQueue<u32> = MsgQueue::new();
    q.push(b"hello".to_vec(), None, Some(b"\0a".to_vec()), 5 + 64).unwrap();
    q.push(Vec::new(), Some(3), None, 64).unwrap();
    assert_eq!(q.first_len(), 5);
    let mut v = Vec::new();
    let d = q.read_dgram::<()>(2, true, &mut |b| Ok(v.extend_from_slice(b))).unwrap().unwrap();
    assert_eq!((d.copied, d.len, v.as_slice()), (2, 5, &b"he"[..]));
    v.clear();
    let d = q.read_dgram::<()>(2, false, &mut |b| Ok(v.extend_from_slice(b))).unwrap().unwrap();
    assert_eq!(d, Dgram { copied: 2, len: 5, anc: None, from: Some(b"\0a".to_vec()) });
    // The zero-length datagram is a message of its own, with its descriptors.
    assert!(!q.is_empty());
    let d = q.read_dgram::<()>(10, false, &mut |_| Ok(())).unwrap().unwrap();
    assert_eq!(d, Dgram { copied: 0, len: 0, anc: Some(3), from: None });
    assert!(q.read_dgram::<()>(10, false, &mut |_| Ok(())).unwrap().is_none());
    assert_eq!(q.charged(), 0);
}

#[test]
fn appends_join_plain_messages_only() {
    let mut q: MsgQueue<u32> = MsgQueue::new();
    assert!(!q.append(b"a", 10));
    q.push(b"a".to_vec(), None, None, 1).unwrap();
    assert!(q.append(b"bc", 10));
    assert!(!q.append(&[0; 8], 10));
    q.push(b"d".to_vec(), Some(1), None, 1).unwrap();
    assert!(!q.append(b"e", 10));
    assert_eq!(q.ancillary().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!((q.bytes(), q.charged()), (4, 4));
    assert_eq!(q.drain(), vec![1]);
    assert_eq!((q.bytes(), q.charged(), q.is_empty()), (0, 0, true));
}
