//! libtorch smoke test: the small CNN, a few dozen Adam steps on an in-memory learnable problem
//! (a colour decides the target vector); the triplet loss must fall clearly.
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use webly_encoder::loss::{Loss, TripletLoss};
use webly_encoder::{Distance, ModelConfig, Network};

const STEPS: usize = 40;
const BATCH: i64 = 32;
const DIM: i64 = 8;
const CLASSES: i64 = 4;

#[test]
fn small_cnn_loss_falls() {
    tch::manual_seed(0);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let cfg = ModelConfig {
        out_dim: DIM,
        small_cnn_widths: vec![8, 16, 16],
        ..Default::default()
    };
    let net = Network::build(&mut vs, &cfg).expect("build");
    let mut opt = nn::adam(0.9, 0.999, 0.0).build(&vs, 3e-3).expect("adam");
    let class_vecs = Tensor::randn([CLASSES, DIM], (Kind::Float, Device::Cpu));
    let class_vecs = &class_vecs / class_vecs.norm_scalaropt_dim(2, [1], true);
    let colours = Tensor::rand([CLASSES, 3], (Kind::Float, Device::Cpu)) * 255.0;
    let loss = TripletLoss {
        margin: 0.2,
        distance: Distance::SquaredL2,
    };
    let mut losses = Vec::new();
    for _ in 0..STEPS {
        let y = Tensor::randint(CLASSES, [BATCH], (Kind::Int64, Device::Cpu));
        // Negative: another class's vector.
        let yn = (&y + Tensor::randint_low(1, CLASSES, [BATCH], (Kind::Int64, Device::Cpu)))
            .remainder(CLASSES);
        let x = colours
            .index_select(0, &y)
            .view([BATCH, 3, 1, 1])
            .expand([BATCH, 3, 32, 32], false)
            + Tensor::randn([BATCH, 3, 32, 32], (Kind::Float, Device::Cpu)) * 20.0;
        let out = net.embedding(
            &net.forward_raw(&x, webly_encoder::Phase::Train),
            webly_encoder::OutputKind::Direct,
        );
        let l = loss
            .forward(
                &out,
                &class_vecs.index_select(0, &y),
                Some(&class_vecs.index_select(0, &yn)),
            )
            .mean(Kind::Float);
        opt.backward_step(&l);
        losses.push(l.double_value(&[]));
    }
    let first: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = losses[STEPS - 5..].iter().sum::<f64>() / 5.0;
    eprintln!("smoke: loss {first:.4} -> {last:.4}");
    assert!(last < 0.5 * first, "loss {first} -> {last}: {losses:?}");
}
