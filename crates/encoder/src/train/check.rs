//! The checks of a training's settings and data, made before it touches any file.
use super::TrainData;
use crate::config::TrainConfig;
use crate::error::EncoderError;

/// Checks the settings of a training that do not depend on its data, so that a caller can
/// refuse a bad config before it touches any file (a finished model's stamp included).
///
/// # Errors
/// [`EncoderError::Config`] naming the setting: batch_size below 2, a zero epochs, lr,
/// max_steps, checkpoint_every or log_every, a bad loader setting, a mining temperature that is not positive, or `model.members` of 0
/// or above 1 without a frozen pretrained backbone.
pub fn check_settings(cfg: &TrainConfig) -> Result<(), EncoderError> {
    if cfg.batch_size < 2 {
        return Err(EncoderError::Config(format!(
            "batch_size {} must be at least 2 (an anchor needs a negative in its batch)",
            cfg.batch_size
        )));
    }
    if cfg.epochs == 0
        || cfg.lr.is_nan()
        || cfg.lr <= 0.0
        || cfg.checkpoint_every == 0
        || cfg.log_every == 0
        || cfg.max_steps == Some(0)
    {
        return Err(EncoderError::Config(
            "epochs, lr, max_steps, checkpoint_every and log_every must be positive".into(),
        ));
    }
    if let crate::config::Mining::Weighted { temperature, .. } = cfg.mining {
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err(EncoderError::Config(format!(
                "mining weighted.temperature must be a positive number, got {temperature}"
            )));
        }
    }
    if cfg.model.members == 0 {
        return Err(EncoderError::Config(
            "model.members must be at least 1".into(),
        ));
    }
    if cfg.model.members > 1
        && (cfg.model.freeze != crate::config::Freeze::Backbone || cfg.model.pretrained.is_none())
    {
        return Err(EncoderError::Config(format!(
            "model.members = {} needs freeze = \"backbone\" and pretrained weights: the \
             members are heads on one frozen backbone",
            cfg.model.members
        )));
    }
    cfg.loader
        .validate()
        .map_err(|e| EncoderError::Config(e.to_string()))
}

/// Checks a training's settings ([`check_settings`]) and its data against each other.
///
/// # Errors
/// As [`check_settings`]; [`EncoderError::Data`] when targets, dimensions or validation keys
/// disagree; [`EncoderError::Config`] when there are fewer training images than batch_size.
pub fn check(cfg: &TrainConfig, data: &TrainData) -> Result<(), EncoderError> {
    check_settings(cfg)?;
    let n = data.train_images.len();
    if data.dim == 0 || data.train_targets.len() != n * data.dim {
        return Err(EncoderError::Data(format!(
            "{} targets for {n} images of dimension {}",
            data.train_targets.len(),
            data.dim
        )));
    }
    if i64::try_from(data.dim).ok() != Some(cfg.model.out_dim) {
        return Err(EncoderError::Config(format!(
            "model.out_dim {} differs from the text dimension {}",
            cfg.model.out_dim, data.dim
        )));
    }
    if data.val_keys.len() != data.val_images.len() {
        return Err(EncoderError::Data(format!(
            "{} validation keys for {} validation images",
            data.val_keys.len(),
            data.val_images.len()
        )));
    }
    if n < cfg.batch_size {
        return Err(EncoderError::Config(format!(
            "batch_size {} needs 2 <= batch_size <= number of training images ({n})",
            cfg.batch_size
        )));
    }
    Ok(())
}
