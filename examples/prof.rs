use imap_triage::core::*;
use std::time::Instant;
fn main() {
    let rules = imap_triage::rules_dir::embedded().unwrap();
    let paragraph = "We tried again today with the settings from the hosting panel, server mail.example-host.net port 993, \
        and the connection still fails after about thirty seconds. The IT team says the firewall is open. \
        Hub ID 4821937. Thanks for any help, this is blocking our whole sales team from logging emails.\n";
    let mut text = String::new();
    while text.len() < (1 << 20) { text.push_str(paragraph); }
    let t = Instant::now(); let _ = items::hub_id(&text); println!("hub {:?}", t.elapsed());
    let t = Instant::now(); let _ = items::email_domain(&text); println!("email {:?}", t.elapsed());
    let t = Instant::now(); let mut s = endpoints::Settings::default(); s.scan(&text); println!("endpoints {:?}", t.elapsed());
    let t = Instant::now(); let _ = classify::error_in(&rules, &text); println!("error {:?}", t.elapsed());
    let t = Instant::now(); let mut c = Checklist::default(); confirmations::scan(&rules, &text, &mut c); println!("checklist {:?}", t.elapsed());
    let t = Instant::now(); let _ = secrets::find(&text); println!("secrets {:?}", t.elapsed());
    let t = Instant::now(); let mut n=0; for l in text.lines() { n += l.len(); let mut s = endpoints::Settings::default(); s.scan("x"); } println!("lines {:?} {n}", t.elapsed());
    let t = Instant::now(); let _ = text::sentences(&text).count(); println!("sentences {:?}", t.elapsed());
}
#[allow(dead_code)]
fn x() {}
