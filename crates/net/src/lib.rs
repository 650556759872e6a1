//! Socket buffers: the receive queue of a socket, a queue of messages (each one `send`) with
//! optional ancillary data (the file descriptors SCM_RIGHTS passes) and a sender address, read
//! as a byte stream (SOCK_STREAM) or one message at a time (SOCK_DGRAM, SOCK_SEQPACKET), with
//! the rules of Linux's `af_unix.c`. Host-testable: the copy to user memory is a closure.
#![no_std]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

#[cfg(test)]
mod tests;

/// One message: what one send wrote.
struct Msg<A> {
    data: Vec<u8>,
    /// Bytes of `data` a stream read has consumed already.
    off: usize,
    /// Ancillary data (passed descriptors), given to the read that first touches the message.
    anc: Option<A>,
    /// The sender's address (datagrams from a bound sender).
    from: Option<Vec<u8>>,
    /// What the message counts against the queue's limit.
    charge: usize,
}

/// What one datagram read got.
#[derive(Debug, PartialEq, Eq)]
pub struct Dgram<A> {
    /// Bytes copied out (at most the length asked for).
    pub copied: usize,
    /// The message's whole length (larger than `copied`: MSG_TRUNC).
    pub len: usize,
    pub anc: Option<A>,
    pub from: Option<Vec<u8>>,
}

/// A socket's receive queue.
pub struct MsgQueue<A> {
    msgs: VecDeque<Msg<A>>,
    /// Unread payload bytes.
    bytes: usize,
    /// Sum of the messages' charges (compared with the limit by the sender).
    charged: usize,
}

impl<A> Default for MsgQueue<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> MsgQueue<A> {
    /// An empty queue.
    pub const fn new() -> Self {
        MsgQueue { msgs: VecDeque::new(), bytes: 0, charged: 0 }
    }

    /// Unread payload bytes (FIONREAD on a stream socket).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// What the queued messages count against the limit.
    pub fn charged(&self) -> usize {
        self.charged
    }

    /// True if no message waits (a zero-length datagram is a message).
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Length of the first message's unread part (FIONREAD on a datagram socket), 0 if none.
    pub fn first_len(&self) -> usize {
        self.msgs.front().map_or(0, |m| m.data.len() - m.off)
    }

    /// Queue a message; `charge` is what it counts against the limit (its length, plus an
    /// overhead per message for datagrams). Without memory for the queue's growth, nothing is
    /// queued and the ancillary data comes back.
    pub fn push(&mut self, data: Vec<u8>, anc: Option<A>, from: Option<Vec<u8>>, charge: usize) -> Result<(), Option<A>> {
        if self.msgs.try_reserve(1).is_err() {
            return Err(anc);
        }
        self.bytes += data.len();
        self.charged += charge;
        self.msgs.push_back(Msg { data, off: 0, anc, from, charge });
        Ok(())
    }

    /// The ancillary data of the queued messages (the garbage collector's walk).
    pub fn ancillary(&self) -> impl Iterator<Item = &A> {
        self.msgs.iter().filter_map(|m| m.anc.as_ref())
    }

    /// Append bytes to the last message if it carries no ancillary data and has room under
    /// `max` bytes (a stream writer's small writes share one buffer); false if it cannot.
    pub fn append(&mut self, bytes: &[u8], max: usize) -> bool {
        let Some(m) = self.msgs.back_mut() else { return false };
        if m.anc.is_some() || m.data.len() + bytes.len() > max || m.data.try_reserve(bytes.len()).is_err() {
            return false;
        }
        m.data.extend_from_slice(bytes);
        m.charge += bytes.len();
        self.bytes += bytes.len();
        self.charged += bytes.len();
        true
    }

    /// Take everything out (the socket is released): the ancillary data, to drop outside locks.
    pub fn drain(&mut self) -> Vec<A> {
        self.bytes = 0;
        self.charged = 0;
        self.msgs.drain(..).filter_map(|m| m.anc).collect()
    }

    /// A stream read of up to `len` bytes: copies through `out` across messages, as Linux's
    /// `unix_stream_read_generic`: a message carrying ancillary data hands it to this read and
    /// ends it (the next message's descriptors go to the next read). With `peek` nothing is
    /// consumed (the ancillary data is cloned). A failing `out` ends the read: its error if
    /// nothing was copied yet, else the count so far.
    pub fn read_stream<E>(&mut self, len: usize, peek: bool, out: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(usize, Option<A>), E>
    where
        A: Clone,
    {
        let mut copied = 0;
        let mut anc = None;
        let mut i = 0;
        while copied < len && i < self.msgs.len() {
            let m = &mut self.msgs[i];
            let n = (m.data.len() - m.off).min(len - copied);
            if let Err(e) = out(&m.data[m.off..m.off + n]) {
                return if copied == 0 { Err(e) } else { Ok((copied, anc)) };
            }
            copied += n;
            let has_anc = m.anc.is_some();
            if peek {
                anc = m.anc.clone();
                i += 1;
            } else {
                m.off += n;
                self.bytes -= n;
                anc = m.anc.take();
                if m.off < m.data.len() {
                    break;
                }
                let m = self.msgs.pop_front().expect("message");
                self.charged -= m.charge;
            }
            if has_anc {
                break;
            }
        }
        Ok((copied, anc))
    }

    /// A datagram read: the first message, up to `len` bytes of it through `out` (the rest of
    /// it is dropped unless `peek`); `None` if the queue is empty.
    pub fn read_dgram<E>(&mut self, len: usize, peek: bool, out: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<Option<Dgram<A>>, E>
    where
        A: Clone,
    {
        let Some(m) = self.msgs.front() else { return Ok(None) };
        let n = m.data.len().min(len);
        out(&m.data[..n])?;
        if peek {
            return Ok(Some(Dgram { copied: n, len: m.data.len(), anc: m.anc.clone(), from: m.from.clone() }));
        }
        let m = self.msgs.pop_front().expect("message");
        self.bytes -= m.data.len();
        self.charged -= m.charge;
        Ok(Some(Dgram { copied: n, len: m.data.len(), anc: m.anc, from: m.from }))
    }
}
