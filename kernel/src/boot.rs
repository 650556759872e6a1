//! Boot information from the device tree (memory, harts, UART, PLIC, virtio, timebase, initrd).

use alloc::string::String;
use alloc::vec::Vec;
use hal::println;
use velox_hal as hal;

/// What the kernel learns from the device tree at boot.
#[derive(Debug, Clone, Default)]
pub struct BootInfo {
    pub ram: (usize, usize),
    pub harts: usize,
    /// The hart ids of the cpus the device tree lists (`reg`), in its order.
    pub hartids: Vec<usize>,
    pub timebase: u64,
    pub uart: Option<usize>,
    /// The UART's interrupt source at the PLIC.
    pub uart_irq: Option<u32>,
    pub plic: Option<usize>,
    /// The `virtio,mmio` slots: (base, size, interrupt source at the PLIC), by address.
    pub virtio: Vec<(usize, usize, Option<u32>)>,
    pub initrd: Option<(usize, usize)>,
    pub bootargs: String,
    /// The multi-letter ISA extensions every hart has ([`isa`] bits), from the cpus'
    /// `riscv,isa` strings (or `riscv,isa-extensions` lists).
    pub isa: u64,
    /// ACLINT SSWI registers: (hart id, physical address of its `SETSSIP` word), for IPIs
    /// without the firmware.
    pub sswi: Vec<(usize, usize)>,
    /// Every hart has Sstc (`stimecmp`): timers without the firmware.
    pub sstc: bool,
}

/// Multi-letter ISA extensions the kernel uses or reports (riscv_hwprobe's IMA_EXT_0 bit
/// numbers, so the mask is also what hwprobe answers for them).
pub mod isa {
    pub const ZBA: u64 = 1 << 3;
    pub const ZBB: u64 = 1 << 4;
    pub const ZBS: u64 = 1 << 5;
    pub const ZBC: u64 = 1 << 7;
    pub const ZIHINTPAUSE: u64 = 1 << 36;
    /// Extension names and their bits.
    pub const NAMES: [(&str, u64); 5] = [("zba", ZBA), ("zbb", ZBB), ("zbs", ZBS), ("zbc", ZBC), ("zihintpause", ZIHINTPAUSE)];
}

/// The [`isa`] bits named by a `riscv,isa` string ("rv64imafdc_zicsr_zba_zbb") or by the
/// NUL-separated `riscv,isa-extensions` list; unknown names are ignored.
pub fn isa_bits(names: &str) -> u64 {
    names
        .split(['_', '\0'])
        .filter_map(|e| isa::NAMES.iter().find(|(n, _)| e.eq_ignore_ascii_case(n)))
        .fold(0, |m, (_, b)| m | b)
}

/// A cpu node's ISA string: its `riscv,isa-extensions` list, else its `riscv,isa` ("" if none).
fn isa_of<'a>(c: fdt::standard_nodes::Cpu<'_, 'a>) -> &'a str {
    let prop = c.property("riscv,isa-extensions").or_else(|| c.property("riscv,isa"));
    prop.and_then(|p| core::str::from_utf8(p.value).ok()).unwrap_or("")
}

fn be_uint(b: &[u8]) -> Option<usize> {
    match b.len() {
        4 => Some(u32::from_be_bytes(b.try_into().ok()?) as usize),
        8 => Some(u64::from_be_bytes(b.try_into().ok()?) as usize),
        _ => None,
    }
}

/// What memory set-up needs, read without allocating (the heap does not exist yet).
#[derive(Debug, Clone, Copy)]
pub struct EarlyInfo {
    pub dtb: (usize, usize),
    pub ram: (usize, usize),
    pub initrd: Option<(usize, usize)>,
}

/// Read RAM, device-tree and initrd ranges. A missing or broken tree is fatal.
pub fn early(dtb_pa: usize) -> EarlyInfo {
    #[allow(unsafe_code)]
    // SAFETY: `dtb_pa` is what the firmware passed in a1 (velox_main's argument).
    let blob = unsafe { hal::mem::boot_dtb(dtb_pa) }.expect("no device tree from the firmware");
    let fdt = fdt::Fdt::new(blob).expect("malformed device tree");
    let r = fdt.memory().regions().next().expect("device tree lists no memory");
    let ram = (r.starting_address as usize, r.starting_address as usize + r.size.unwrap_or(0));
    let mut initrd = None;
    if let Some(n) = fdt.find_node("/chosen") {
        let s = n.property("linux,initrd-start").and_then(|p| be_uint(p.value));
        let e = n.property("linux,initrd-end").and_then(|p| be_uint(p.value));
        if let (Some(s), Some(e)) = (s, e) {
            initrd = Some((s, e));
        }
    }
    EarlyInfo { dtb: (dtb_pa, dtb_pa + blob.len()), ram, initrd }
}

/// Parse the rest of the device tree (needs the heap).
pub fn parse(e: &EarlyInfo) -> BootInfo {
    #[allow(unsafe_code)]
    // SAFETY: `e.dtb.0` is the firmware's address, recorded by `early`.
    let blob = unsafe { hal::mem::boot_dtb(e.dtb.0) }.expect("no device tree from the firmware");
    let fdt = fdt::Fdt::new(blob).expect("malformed device tree");
    let mut info = BootInfo { ram: e.ram, initrd: e.initrd, ..Default::default() };
    info.harts = fdt.cpus().count();
    info.hartids = fdt.cpus().map(|c| c.ids().first()).collect();
    // (An extension counts only if every hart lists it.)
    info.isa = fdt.cpus().map(|c| isa_bits(isa_of(c))).fold(u64::MAX, |a, b| a & b);
    if info.isa == u64::MAX {
        info.isa = 0;
    }
    info.sstc = info.harts > 0 && fdt.cpus().all(|c| isa_of(c).split(['_', '\0']).any(|e| e.eq_ignore_ascii_case("sstc")));
    info.timebase = fdt.cpus().next().map(|c| c.timebase_frequency() as u64).unwrap_or(10_000_000);
    let chosen = fdt.chosen();
    info.bootargs = chosen.bootargs().unwrap_or("").into();
    let reg0 = |n: &fdt::node::FdtNode| n.reg().and_then(|mut r| r.next()).map(|r| (r.starting_address as usize, r.size.unwrap_or(0)));
    let uart = fdt.find_compatible(&["ns16550a", "ns16550"]);
    info.uart = uart.as_ref().and_then(reg0).map(|r| r.0);
    info.uart_irq = uart.and_then(|n| n.interrupts()?.next()).map(|i| i as u32);
    info.plic = fdt.find_compatible(&["riscv,plic0", "sifive,plic-1.0.0"]).and_then(|n| reg0(&n)).map(|r| r.0);
    for n in fdt.all_nodes() {
        if n.compatible().is_some_and(|c| c.all().any(|s| s == "virtio,mmio")) {
            if let Some(r) = reg0(&n) {
                let irq = n.interrupts().and_then(|mut i| i.next()).map(|i| i as u32);
                info.virtio.push((r.0, r.1, irq));
            }
        }
    }
    info.virtio.sort();
    info.sswi = sswi_regs(&fdt);
    info
}

/// The ACLINT SSWI devices' per-hart registers: word i of a device belongs to the hart whose
/// interrupt controller is the i-th entry of its `interrupts-extended` (cause 1, supervisor
/// software interrupt), as the ACLINT binding says. Anything unexpected (a disabled device,
/// an entry that is not a cpu's interrupt controller, a word outside the device's `reg`)
/// gives an empty list: IPIs then go through the SBI.
fn sswi_regs(fdt: &fdt::Fdt) -> Vec<(usize, usize)> {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let okay = |n: &fdt::node::FdtNode| n.property("status").and_then(|p| p.as_str()).is_none_or(|s| s == "okay" || s == "ok");
    // phandle of each cpu's interrupt controller -> that cpu's hart id (its `reg`, read with
    // the /cpus node's #address-cells, as the hart list is)
    let cells = fdt.find_node("/cpus").and_then(|n| n.property("#address-cells")).and_then(|p| p.as_usize()).unwrap_or(1);
    if !(1..=2).contains(&cells) {
        return Vec::new();
    }
    // (Only `riscv,cpu-intc` controllers with one interrupt cell: the pairs read below are
    // (phandle, cause) only for those.)
    let mut intc: Vec<(u32, usize)> = Vec::new();
    for cpu in fdt.all_nodes().filter(|n| n.property("device_type").and_then(|p| p.as_str()) == Some("cpu")) {
        let Some(id) = cpu.property("reg").and_then(|p| p.value.get(..4 * cells)).and_then(be_uint) else { continue };
        for c in cpu.children() {
            let is_intc = c.compatible().is_some_and(|k| k.all().any(|s| s == "riscv,cpu-intc"))
                && c.property("#interrupt-cells").and_then(|p| p.as_usize()) == Some(1);
            if let Some(ph) = c.property("phandle").filter(|p| is_intc && p.value.len() == 4) {
                intc.push((be32(ph.value), id));
            }
        }
    }
    let mut out = Vec::new();
    for n in fdt.all_nodes() {
        if !n.compatible().is_some_and(|c| c.all().any(|s| s == "riscv,aclint-sswi")) || !okay(&n) {
            continue;
        }
        let (Some((base, size)), Some(ie)) = (n.reg().and_then(|mut r| r.next()).map(|r| (r.starting_address as usize, r.size.unwrap_or(0))), n.property("interrupts-extended")) else {
            return Vec::new();
        };
        if ie.value.len() % 8 != 0 {
            return Vec::new();
        }
        for (i, pair) in ie.value.chunks_exact(8).enumerate() {
            let (ph, cause) = (be32(pair), be32(&pair[4..]));
            let Some(&(_, id)) = intc.iter().find(|e| e.0 == ph) else { return Vec::new() };
            let Some(reg) = base.checked_add(4 * i).filter(|_| 4 * i + 4 <= size) else { return Vec::new() };
            if cause == 1 {
                if out.iter().any(|&(h, _)| h == id) {
                    return Vec::new(); // two registers for one hart: do not guess
                }
                out.push((id, reg));
            }
        }
    }
    out
}

/// Print the boot banner with what the device tree told us.
pub fn print_banner(hartid: usize, info: &BootInfo) {
    let (free, total) = crate::mm::frame_stats();
    println!("Velox {} (riscv64, Sv39, stackless async kernel) on hart {hartid}", env!("CARGO_PKG_VERSION"));
    println!("  memory   {:#x}..{:#x} ({} MiB), {} of {} frames free", info.ram.0, info.ram.1, (info.ram.1 - info.ram.0) >> 20, free, total);
    println!("  harts    {} listed, {} online (max {})", info.harts, crate::smp::online(), crate::smp::MAX_HARTS);
    let (asid_used, asid_hw) = crate::smp::asid_bits();
    println!("  asids    {asid_used} bits used ({asid_hw} implemented)");
    println!("  timebase {} Hz", info.timebase);
    println!("  timer    {}", if hal::sbi::sstc() { "Sstc (stimecmp)" } else { "SBI" });
    println!("  ipi      {}", if hal::cpu::sswi() { "ACLINT SSWI" } else { "SBI" });
    println!("  uart     {:#x}  plic {:#x}", info.uart.unwrap_or(0), info.plic.unwrap_or(0));
    println!("  virtio   {} MMIO slots from {:#x}", info.virtio.len(), info.virtio.first().map_or(0, |v| v.0));
    if let Some((s, e)) = info.initrd {
        println!("  initrd   {s:#x}..{e:#x} ({} KiB)", (e - s) >> 10);
    }
    println!("  fastpath {}", if cfg!(feature = "no-fastpath") { "disabled (no-fastpath build)" } else { "enabled" });
    let exts: Vec<&str> = isa::NAMES.iter().filter(|(_, b)| info.isa & b != 0).map(|(n, _)| *n).collect();
    println!("  isa ext  {}", if exts.is_empty() { "none the kernel uses".into() } else { exts.join(" ") });
    println!("  cmdline  {:?}", info.bootargs);
}
