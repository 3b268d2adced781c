//! The refusal notice a party finds in a peer's abort reason (`parties::audit_plan::
//! RefusalNotice::find`): any text either yields nothing or a notice whose text form is found
//! again as the same notice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parties::audit_plan::RefusalNotice;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(n) = RefusalNotice::find(&text) {
        assert_eq!(RefusalNotice::find(&n.token()), Some(n));
    }
});
