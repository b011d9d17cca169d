//! The checks of a training's settings and data, made before it touches any file.
use super::TrainData;
use crate::config::TrainConfig;
use crate::error::EncoderError;

/// Checks the settings of a training that do not depend on its data, so that a caller can
/// refuse a bad config before it touches any file (a finished model's stamp included).
///
/// # Errors
/// [`EncoderError::Config`] naming the setting: batch_size below 2, a zero epochs, lr,
/// max_steps, checkpoint_every or log_every, a bad loader setting, a mining temperature that is
/// not positive, a mining max_similarity outside (-1, 1], or `model.members` of 0 or above 1
/// without a frozen pretrained backbone.
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
    crate::model::check_member_count(cfg.model.members)?;
    if cfg.model.members > 1 {
        let missing = if cfg.model.freeze != crate::config::Freeze::Backbone {
            Some("freeze = \"backbone\"")
        } else if cfg.model.pretrained.is_none() {
            Some("pretrained weights (model.pretrained)")
        } else {
            None
        };
        if let Some(missing) = missing {
            return Err(EncoderError::Config(format!(
                "model.members = {} needs {missing}: the members are heads on one frozen \
                 pretrained backbone",
                cfg.model.members
            )));
        }
    }
    if let crate::config::Mining::GloveBand { max_similarity }
    | crate::config::Mining::All { max_similarity }
    | crate::config::Mining::Weighted { max_similarity, .. } = cfg.mining
    {
        if !(max_similarity > -1.0 && max_similarity <= 1.0) {
            return Err(EncoderError::Config(format!(
                "mining max_similarity must be a cosine similarity above -1 and at most 1, got \
                 {max_similarity} (at -1 no caption can be a negative)"
            )));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Freeze, Mining};

    fn refused(cfg: &TrainConfig) -> String {
        check_settings(cfg).expect_err("refused").to_string()
    }

    // Each bad ensemble or mining setting is refused with the setting it needs named.
    #[test]
    fn bad_ensemble_and_mining_settings_name_the_setting() {
        let mut cfg = TrainConfig::default();
        check_settings(&cfg).expect("the defaults pass");
        cfg.model.members = 0;
        assert!(refused(&cfg).contains("members must be at least 1"));
        cfg.model.members = 3;
        assert!(refused(&cfg).contains("freeze = \"backbone\""));
        cfg.model.freeze = Freeze::Backbone;
        assert!(refused(&cfg).contains("pretrained weights"));
        cfg.model.pretrained = Some("w.safetensors".into());
        check_settings(&cfg).expect("a frozen pretrained ensemble passes");
        for (similarity, temperature, ok) in [
            (0.9, 0.5, true),
            (1.0, 1e-30, true),
            (-0.5, 1e30, true),
            (-1.0, 0.5, false),
            (1.5, 0.5, false),
            (0.9, 0.0, false),
            (0.9, -1.0, false),
            (0.9, f32::INFINITY, false),
        ] {
            cfg.mining = Mining::Weighted {
                max_similarity: similarity,
                temperature,
            };
            assert_eq!(
                check_settings(&cfg).is_ok(),
                ok,
                "{similarity} {temperature}"
            );
        }
    }
}
