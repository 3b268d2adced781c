//! The job-file decoder of `parties::job` (`igs-mpc simulate JOB`): any text either fails with
//! an error or yields a job whose invariants hold (1..=64 steps with distinct names, 1..=64
//! distinct columns each, explicit sites 2..=64 with distinct valid names and a dataset each).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use parties::job::{JobFile, MAX_SITES, MAX_STEPS, Sites};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(job) = JobFile::from_toml(text, Path::new("/base")) else {
        return;
    };
    assert!((1..=MAX_STEPS).contains(&job.steps.len()));
    for (i, s) in job.steps.iter().enumerate() {
        assert!(!s.columns.is_empty());
        assert!(job.steps.iter().skip(i + 1).all(|o| o.name != s.name));
    }
    if let Sites::List(list) = &job.sites {
        assert!((2..=MAX_SITES).contains(&list.len()));
        let resolved = job.resolve_sites(Path::new("/data")).unwrap();
        assert_eq!(resolved.len(), list.len());
        for s in &resolved {
            assert!(s.pheno.is_some() || s.bfile.is_some());
        }
    }
});
