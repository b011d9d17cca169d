//! Device selection and libtorch threads.
use crate::config::DeviceChoice;
use crate::error::EncoderError;
use tch::Device;

/// The tch device for a choice: `Auto` is CUDA 0 when available, else CPU.
pub fn resolve_device(choice: DeviceChoice) -> Result<Device, EncoderError> {
    let cuda = tch::Cuda::is_available();
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto if cuda => Ok(Device::Cuda(0)),
        DeviceChoice::Auto => Ok(Device::Cpu),
        DeviceChoice::Cuda if cuda => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => Err(EncoderError::NoCuda),
    }
}

/// Sets libtorch's intra-op threads when `threads > 0` (interop threads are never touched:
/// libtorch allows setting them once per process).
pub fn set_threads(threads: usize) {
    if threads > 0 {
        tch::set_num_threads(i32::try_from(threads).unwrap_or(i32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_cuda_availability() {
        let d = resolve_device(DeviceChoice::Auto).expect("auto never fails");
        assert_eq!(d.is_cuda(), tch::Cuda::is_available());
        assert_eq!(resolve_device(DeviceChoice::Cpu).expect("cpu"), Device::Cpu);
        if !tch::Cuda::is_available() {
            assert!(matches!(
                resolve_device(DeviceChoice::Cuda),
                Err(EncoderError::NoCuda)
            ));
        }
    }
}
