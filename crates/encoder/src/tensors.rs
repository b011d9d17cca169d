//! Host <-> tensor conversions shared by training, embedding and the activation cache.
use crate::error::{torch, EncoderError};
use tch::{Device, Kind, Tensor};

/// Copies a `[n, d]` float tensor to a Vec.
pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f32>, EncoderError> {
    let flat = t
        .to_kind(Kind::Float)
        .to_device(Device::Cpu)
        .contiguous()
        .view([-1]);
    Vec::<f32>::try_from(&flat).map_err(torch("copying a tensor to host memory"))
}

/// A `[n, 3, side, side]` tensor from a CHW batch.
pub(crate) fn batch_tensor(
    data: &[f32],
    side: i64,
    device: Device,
) -> Result<Tensor, EncoderError> {
    let per = 3 * side * side;
    let len =
        i64::try_from(data.len()).map_err(|_| EncoderError::Data("batch too large".into()))?;
    if per == 0 || len % per != 0 {
        return Err(EncoderError::Data(format!(
            "a batch of {len} floats is not a whole number of 3x{side}x{side} images"
        )));
    }
    Ok(Tensor::from_slice(data)
        .view([len / per, 3, side, side])
        .to_device(device))
}
