//! Devices: the virtio-mmio slots of the device tree, identified at boot and claimed by type; the external interrupt.
//!
//! [`init`] looks into every slot once; a driver asks [`take`] for the first unclaimed device of
//! its type and gets the `virtio-drivers` MMIO transport for it (virtio-rng, virtio-blk;
//! virtio-net fits the same way).

pub mod blk;
pub mod rng;
pub mod tty;

use crate::boot::BootInfo;
use alloc::vec::Vec;
use hal::println;
use hal::virtio::{DeviceType, DmaHooks, Mmio};
use velox_exec::sync::Mutex;
use velox_hal as hal;

/// A non-empty virtio-mmio slot.
#[derive(Debug, Clone, Copy)]
struct Slot {
    base: usize,
    size: usize,
    kind: DeviceType,
    taken: bool,
}

static SLOTS: Mutex<Vec<Slot>> = Mutex::new(Vec::new());

/// Give the hardware layer DMA memory and find out which virtio devices QEMU attached.
pub fn init(info: &BootInfo) {
    hal::virtio::set_dma_hooks(DmaHooks { alloc_contig: crate::mm::alloc_contig, dealloc_contig: crate::mm::free_contig });
    let mut slots = SLOTS.lock();
    for &(base, size, _) in &info.virtio {
        if let Some(kind) = hal::virtio::peek(base, size) {
            println!("[velox] virtio: {kind:?} at {base:#x}");
            slots.push(Slot { base, size, kind, taken: false });
        }
    }
}

/// Claim the first device of type `kind` that no driver has taken yet.
pub fn take(kind: DeviceType) -> Option<Mmio> {
    take_slot(kind).map(|(t, _)| t)
}

/// [`take`], also saying which slot (its physical base address, as in `BootInfo::virtio`):
/// slots are tried in address order.
pub fn take_slot(kind: DeviceType) -> Option<(Mmio, usize)> {
    let mut slots = SLOTS.lock();
    let s = slots.iter_mut().find(|s| s.kind == kind && !s.taken)?;
    s.taken = true;
    hal::virtio::open(s.base, s.size).map(|t| (t, s.base))
}

/// The supervisor external interrupt on this hart: claim each pending PLIC source, serve it,
/// complete it. True if a device woke tasks (input arrived, a disk request finished).
pub fn on_external_irq() -> bool {
    let hartid = crate::smp::this().hartid.load(core::sync::atomic::Ordering::Relaxed);
    let mut woke = false;
    // (Bounded: a source that keeps asserting cannot hold the hart forever.)
    for _ in 0..64 {
        let Some(irq) = hal::plic::claim(hartid) else { break };
        if irq == tty::uart_irq() {
            woke |= tty::on_uart_irq();
        } else {
            woke |= blk::on_irq(irq);
        }
        hal::plic::complete(hartid, irq);
    }
    woke
}
