//! End to end: evaluate two "models" on the shipped query sets, write both runs, compare them.

use std::path::Path;

use webly_eval::{compare, evaluate, EvalQuery, PlotConfig, QuerySet, TruthRelevance};

const DIM: usize = 4;

/// Image i has concept `words[i % 4]`; its vector is the unit axis of that concept, so a query
/// vector on the same axis ranks every relevant image first (AP = 1).
fn fixture() -> (Vec<f32>, Vec<String>, TruthRelevance) {
    let words = ["car", "cake", "kid", "dog"];
    let n = 40;
    let mut images = vec![0.0f32; n * DIM];
    for i in 0..n {
        images[i * DIM + i % 4] = 1.0 + (i as f32) * 0.01;
    }
    let keys: Vec<String> = (0..n).map(|i| format!("city/{i}")).collect();
    let truth = TruthRelevance::new(keys.iter().enumerate().map(|(i, k)| {
        let mut c = vec![words[i % 4].to_string()];
        if i % 8 == 2 {
            c.push("dog".into()); // kid images 2, 10, 18, ... also show a dog
        }
        (k.clone(), c)
    }));
    (images, keys, truth)
}

fn axis(j: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[j] = 1.0;
    v
}

#[test]
fn perfect_and_reversed_models_compare() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/queries");
    // The reference's two sets (the folder also holds other sets, e.g. the real-photo ones).
    let sets: Vec<QuerySet> = ["simple.txt", "complex.txt"]
        .iter()
        .map(|f| QuerySet::load(&dir.join(f)).unwrap())
        .collect();
    let (images, keys, truth) = fixture();
    let good_vec = |q: &str| match q {
        "car" => axis(0),
        "cake" => axis(1),
        "kid" | "kid dog" => axis(2),
        _ => axis(3),
    };
    let make = |f: &dyn Fn(&str) -> Vec<f32>| -> Vec<EvalQuery> {
        sets.iter()
            .flat_map(|s| s.queries.iter().map(move |q| (s.name.clone(), q.clone())))
            .map(|(set, text)| EvalQuery {
                vector: f(&text),
                text,
                set,
            })
            .collect()
    };
    let good = evaluate(&images, 40, DIM, &keys, &make(&good_vec), &truth).unwrap();
    let bad = evaluate(
        &images,
        40,
        DIM,
        &keys,
        &make(&|q: &str| good_vec(q).iter().map(|x| -x).collect()),
        &truth,
    )
    .unwrap();

    // car, cake, kid, dog... only car/cake/kid are simple queries with relevant images.
    let simple = good.summary("Simple").unwrap();
    assert_eq!(simple.queries, 3);
    assert!((simple.map - 1.0).abs() < 1e-12 && (simple.p_at_5 - 1.0).abs() < 1e-12);
    // "kid dog": 5 relevant (i = 2, 10, 18, 26, 34) among the 10 kid images, which all tie at
    // cosine 1 (same axis): one threshold, AP = precision 5/10 there. The order of the tie (file
    // order gave ranks 1, 3, 5, 7, 9 and AP 0.679) does not matter. Python (scikit-learn 1.9.1):
    // y = [1 if i % 8 == 2 else 0 for i in range(40)]
    // s = [1.0 if i % 4 == 2 else 0.0 for i in range(40)]
    // average_precision_score(y, s)  -> 0.5
    let kd = good.rows.iter().find(|r| r.query == "kid dog").unwrap();
    assert!((kd.ap - 0.5).abs() < 1e-12, "{}", kd.ap);
    // P@5 over the orderings of the tie: 5 * 5/10 = 2.5 expected hits.
    assert!((kd.p_at_5 - 0.5).abs() < 1e-12, "{}", kd.p_at_5);
    assert_eq!(good.summary("Complex").unwrap().queries, 1);
    assert!(good.excluded.iter().any(|e| e.query == "yellow car"));
    assert!(bad.summary("All").unwrap().map < good.summary("All").unwrap().map);

    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("good"), root.path().join("bad"));
    good.write_run(&a, &PlotConfig::default()).unwrap();
    bad.write_run(&b, &PlotConfig::default()).unwrap();
    let table = compare(&[("good", &a), ("bad", &b)]).unwrap();
    assert_eq!(table.runs[0].run, "good");
    assert_eq!(table.runs[0].map[1], Some(simple.map));
    assert_eq!(
        table.runs[1].p_at_5[0],
        Some(bad.summary("All").unwrap().p_at_5)
    );
    let md = table.to_markdown();
    assert!(
        md.contains("| good | 0.8750 | 1.0000 | 0.5000 | 0.8750 | 1.0000 | 0.5000 |"),
        "{md}"
    );
    assert!(table.to_string().contains("bad"));
    assert!(compare(&[("missing", &root.path().join("missing"))])
        .unwrap_err()
        .to_string()
        .contains("report.json"));
}
