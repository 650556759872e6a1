//! Devices: the virtio-mmio slots of the device tree, identified at boot and claimed by type; the external interrupt.
//!
//! [`init`] looks into every slot once; a driver asks [`take`] for the first unclaimed device of
//! its type and gets the `virtio-drivers` MMIO transport for it (virtio-rng today; virtio-blk and
//! virtio-net fit the same way).

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
    for &(base, size) in &info.virtio {
        if let Some(kind) = hal::virtio::peek(base, size) {
            println!("[velox] virtio: {kind:?} at {base:#x}");
            slots.push(Slot { base, size, kind, taken: false });
        }
    }
}

/// Claim the first device of type `kind` that no driver has taken yet.
pub fn take(kind: DeviceType) -> Option<Mmio> {
    let mut slots = SLOTS.lock();
    let s = slots.iter_mut().find(|s| s.kind == kind && !s.taken)?;
    s.taken = true;
    hal::virtio::open(s.base, s.size)
}

/// The supervisor external interrupt on this hart: claim each pending PLIC source, serve it,
/// complete it. True if a device woke tasks (input arrived).
pub fn on_external_irq() -> bool {
    let hartid = crate::smp::this().hartid.load(core::sync::atomic::Ordering::Relaxed);
    let mut woke = false;
    // (Bounded: a source that keeps asserting cannot hold the hart forever.)
    for _ in 0..64 {
        let Some(irq) = hal::plic::claim(hartid) else { break };
        if irq == tty::uart_irq() {
            woke |= tty::on_uart_irq();
        }
        hal::plic::complete(hartid, irq);
    }
    woke
}
