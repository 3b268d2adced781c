//! The configuration decoders of `parties` on arbitrary text: the first byte picks the
//! consortium file (must round-trip through `to_toml`), a site config, or an approvals file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use parties::config::Consortium;
use parties::config::site::SiteConfig;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(c) = Consortium::from_toml(text) {
                let again = Consortium::from_toml(&c.to_toml().unwrap()).unwrap();
                assert_eq!(again, c);
            }
        }
        1 => {
            let _ = SiteConfig::from_toml(text, Path::new("/base"));
        }
        _ => {
            let _ = parties::config::site::parse_approvals(text);
        }
    }
});
