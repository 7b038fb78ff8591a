//! GPU telemetry through NVIDIA's NVML, loaded at run time (`libnvidia-ml.so.1`). No library or
//! no GPU is a note ("GPU telemetry unavailable"), never an error. The foreign calls are the only
//! unsafe code of the crate; each one passes buffers sized as NVML documents.
#![allow(unsafe_code)]

use libloading::{Library, Symbol};
use std::os::raw::{c_char, c_int, c_uint, c_ulonglong};

/// One GPU as NVML reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuDevice {
    pub index: u32,
    pub name: String,
    pub power_watts: Option<f64>,
    pub utilization_percent: Option<u32>,
    pub memory_used_bytes: Option<u64>,
    /// Compute processes: (pid, used GPU memory in bytes).
    pub processes: Vec<(u32, Option<u64>)>,
    /// Per-process SM utilisation samples: (pid, percent).
    pub process_utilization: Vec<(u32, u32)>,
}

/// GPU telemetry, or why there is none.
#[derive(Debug, Clone, Default)]
pub struct GpuTelemetry {
    pub devices: Vec<GpuDevice>,
    pub unavailable: Option<String>,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct NvmlUtilization {
    gpu: c_uint,
    memory: c_uint,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct NvmlMemory {
    total: c_ulonglong,
    free: c_ulonglong,
    used: c_ulonglong,
}

/// nvmlProcessInfo_v1 (pid, usedGpuMemory): the layout of `nvmlDeviceGetComputeRunningProcesses`
/// (the unversioned symbol, which every driver still exports).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct NvmlProcessInfoV1 {
    pid: c_uint,
    used_gpu_memory: c_ulonglong,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct NvmlProcessUtilizationSample {
    pid: c_uint,
    time_stamp: c_ulonglong,
    sm_util: c_uint,
    mem_util: c_uint,
    enc_util: c_uint,
    dec_util: c_uint,
}

type Device = *mut std::ffi::c_void;
const NVML_SUCCESS: c_int = 0;
const NVML_ERROR_INSUFFICIENT_SIZE: c_int = 7;
const NVML_VALUE_NOT_AVAILABLE: c_ulonglong = u64::MAX;

/// Reads NVML telemetry; `library` is normally `libnvidia-ml.so.1`.
pub fn read_telemetry(library: &str) -> GpuTelemetry {
    match read_inner(library) {
        Ok(devices) => GpuTelemetry {
            devices,
            unavailable: None,
        },
        Err(why) => GpuTelemetry {
            devices: Vec::new(),
            unavailable: Some(format!("GPU telemetry unavailable: {why}")),
        },
    }
}

fn read_inner(library: &str) -> Result<Vec<GpuDevice>, String> {
    // SAFETY: loading NVML runs its initialisers; NVML is a vendor library meant to be loaded so.
    let lib =
        unsafe { Library::new(library) }.map_err(|e| format!("{library} not loadable ({e})"))?;
    unsafe {
        let init: Symbol<unsafe extern "C" fn() -> c_int> =
            lib.get(b"nvmlInit_v2\0").map_err(|e| e.to_string())?;
        let shutdown: Symbol<unsafe extern "C" fn() -> c_int> =
            lib.get(b"nvmlShutdown\0").map_err(|e| e.to_string())?;
        let count_fn: Symbol<unsafe extern "C" fn(*mut c_uint) -> c_int> = lib
            .get(b"nvmlDeviceGetCount_v2\0")
            .map_err(|e| e.to_string())?;
        let handle_fn: Symbol<unsafe extern "C" fn(c_uint, *mut Device) -> c_int> = lib
            .get(b"nvmlDeviceGetHandleByIndex_v2\0")
            .map_err(|e| e.to_string())?;
        let rc = init();
        if rc != NVML_SUCCESS {
            return Err(format!("nvmlInit failed with code {rc}"));
        }
        let mut count: c_uint = 0;
        if count_fn(&mut count) != NVML_SUCCESS || count == 0 {
            shutdown();
            return Err("no GPU".into());
        }
        let name_fn: Option<Symbol<unsafe extern "C" fn(Device, *mut c_char, c_uint) -> c_int>> =
            lib.get(b"nvmlDeviceGetName\0").ok();
        let power_fn: Option<Symbol<unsafe extern "C" fn(Device, *mut c_uint) -> c_int>> =
            lib.get(b"nvmlDeviceGetPowerUsage\0").ok();
        let util_fn: Option<Symbol<unsafe extern "C" fn(Device, *mut NvmlUtilization) -> c_int>> =
            lib.get(b"nvmlDeviceGetUtilizationRates\0").ok();
        let mem_fn: Option<Symbol<unsafe extern "C" fn(Device, *mut NvmlMemory) -> c_int>> =
            lib.get(b"nvmlDeviceGetMemoryInfo\0").ok();
        let procs_fn: Option<
            Symbol<unsafe extern "C" fn(Device, *mut c_uint, *mut NvmlProcessInfoV1) -> c_int>,
        > = lib.get(b"nvmlDeviceGetComputeRunningProcesses\0").ok();
        let putil_fn: Option<
            Symbol<
                unsafe extern "C" fn(
                    Device,
                    *mut NvmlProcessUtilizationSample,
                    *mut c_uint,
                    c_ulonglong,
                ) -> c_int,
            >,
        > = lib.get(b"nvmlDeviceGetProcessUtilization\0").ok();
        let mut devices = Vec::new();
        for index in 0..count.min(64) {
            let mut dev: Device = std::ptr::null_mut();
            if handle_fn(index, &mut dev) != NVML_SUCCESS {
                continue;
            }
            let mut d = GpuDevice {
                index,
                ..Default::default()
            };
            if let Some(f) = &name_fn {
                let mut buf = [0 as c_char; 96];
                if f(dev, buf.as_mut_ptr(), buf.len() as c_uint) == NVML_SUCCESS {
                    let bytes: Vec<u8> = buf
                        .iter()
                        .take_while(|c| **c != 0)
                        .map(|c| *c as u8)
                        .collect();
                    d.name = String::from_utf8_lossy(&bytes).into_owned();
                }
            }
            if let Some(f) = &power_fn {
                let mut mw: c_uint = 0;
                if f(dev, &mut mw) == NVML_SUCCESS {
                    d.power_watts = Some(f64::from(mw) / 1000.0);
                }
            }
            if let Some(f) = &util_fn {
                let mut u = NvmlUtilization::default();
                if f(dev, &mut u) == NVML_SUCCESS {
                    d.utilization_percent = Some(u.gpu);
                }
            }
            if let Some(f) = &mem_fn {
                let mut m = NvmlMemory::default();
                if f(dev, &mut m) == NVML_SUCCESS {
                    d.memory_used_bytes = Some(m.used);
                }
            }
            if let Some(f) = &procs_fn {
                let mut n: c_uint = 64;
                let mut buf = vec![NvmlProcessInfoV1::default(); 64];
                let rc = f(dev, &mut n, buf.as_mut_ptr());
                if rc == NVML_SUCCESS || rc == NVML_ERROR_INSUFFICIENT_SIZE {
                    for p in buf.iter().take((n as usize).min(64)) {
                        let mem = (p.used_gpu_memory != NVML_VALUE_NOT_AVAILABLE)
                            .then_some(p.used_gpu_memory);
                        d.processes.push((p.pid, mem));
                    }
                }
            }
            if let Some(f) = &putil_fn {
                let mut n: c_uint = 128;
                let mut buf = vec![NvmlProcessUtilizationSample::default(); 128];
                if f(dev, buf.as_mut_ptr(), &mut n, 0) == NVML_SUCCESS {
                    for s in buf.iter().take((n as usize).min(128)) {
                        d.process_utilization.push((s.pid, s.sm_util));
                    }
                }
            }
            devices.push(d);
        }
        shutdown();
        Ok(devices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_is_a_note_not_an_error() {
        let t = read_telemetry("libminetrace-no-such-nvml.so.1");
        assert!(t.devices.is_empty());
        assert!(t
            .unavailable
            .unwrap()
            .starts_with("GPU telemetry unavailable"));
    }
}
