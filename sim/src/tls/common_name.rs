//! The subject common name of an X.509 certificate (DER), as Go's
//! `x509.Certificate.Subject.CommonName` gives it: the value of the last
//! `CN` attribute of the subject, or empty when there is none. etcd takes the
//! v3 user name from it under `--client-cert-auth`, and the v2 user from the
//! common names of the verified chain ([`issuer_common_name`] gives the CA's).
//!
//! The certificate has been verified by the TLS handshake before it is read
//! here; the reader is still strict (it fails on anything that is not DER of
//! the expected shape) and bounded by the input.

/// The DER encoding of the object identifier 2.5.4.3 (`commonName`).
const CN_OID: &[u8] = &[0x55, 0x04, 0x03];

/// One DER element: its tag, its contents, and what follows it.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    rest: &'a [u8],
}

/// Reads one DER element from the start of `input`.
fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers do not occur in the parts read here
    }
    let (&first, mut after_len) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || after_len.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &after_len[..n] {
            len = (len << 8) | usize::from(b);
        }
        after_len = &after_len[n..];
        len
    };
    if after_len.len() < len {
        return None;
    }
    Some(Tlv {
        tag,
        value: &after_len[..len],
        rest: &after_len[len..],
    })
}

/// Reads one element with tag `tag`.
fn expect(input: &[u8], tag: u8) -> Option<Tlv<'_>> {
    tlv(input).filter(|t| t.tag == tag)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// The subject common name of the DER certificate `der` (empty when the
/// subject has none), or `None` when `der` is not a certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_issuer, subject) = names(der)?;
    name_common_name(subject)
}

/// The common name of the DER certificate's issuer (empty when its issuer
/// name has none), or `None` when `der` is not a certificate: the subject
/// common name of the CA that signed it, the end of the chain Go verifies.
pub fn issuer_common_name(der: &[u8]) -> Option<String> {
    let (issuer, _subject) = names(der)?;
    name_common_name(issuer)
}

/// The contents of the issuer and subject names of a DER certificate.
fn names(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let cert = expect(der, SEQUENCE)?;
    let tbs = expect(cert.value, SEQUENCE)?;
    let mut fields = tbs.value;
    // version [0] EXPLICIT, optional
    if fields.first() == Some(&0xa0) {
        fields = tlv(fields)?.rest;
    }
    let serial = expect(fields, 0x02)?;
    let signature = expect(serial.rest, SEQUENCE)?;
    let issuer = expect(signature.rest, SEQUENCE)?;
    let validity = expect(issuer.rest, SEQUENCE)?;
    let subject = expect(validity.rest, SEQUENCE)?;
    Some((issuer.value, subject.value))
}

/// The last `CN` of a name's relative distinguished names (empty: none).
fn name_common_name(mut rdns: &[u8]) -> Option<String> {
    let mut cn = String::new();
    while !rdns.is_empty() {
        let rdn = expect(rdns, SET)?;
        let mut attrs = rdn.value;
        while !attrs.is_empty() {
            let attr = expect(attrs, SEQUENCE)?;
            let oid = expect(attr.value, OID)?;
            let value = tlv(oid.rest)?;
            if oid.value == CN_OID {
                cn = text_of(value.tag, value.value)?;
            }
            attrs = attr.rest;
        }
        rdns = rdn.rest;
    }
    Some(cn)
}

/// A directory string's text: UTF8String, PrintableString, IA5String,
/// TeletexString (read as Latin-1, as Go does), BMPString (UTF-16BE).
fn text_of(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        0x0c | 0x13 | 0x16 => String::from_utf8(bytes.to_vec()).ok(),
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        0x1e => {
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;

    fn cert_with(names: &[(rcgen::DnType, &str)]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in names {
            params.distinguished_name.push(t.clone(), *v);
        }
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_the_subject_common_name() {
        let der = cert_with(&[
            (rcgen::DnType::OrganizationName, "etcd"),
            (rcgen::DnType::CommonName, "client"),
        ]);
        assert_eq!(common_name(&der).as_deref(), Some("client"));
        let none = cert_with(&[(rcgen::DnType::OrganizationName, "etcd")]);
        assert_eq!(common_name(&none).as_deref(), Some(""));
        // Self-signed: the issuer is the subject.
        assert_eq!(issuer_common_name(&der).as_deref(), Some("client"));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(common_name(b""), None);
        assert_eq!(common_name(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        let der = cert_with(&[(rcgen::DnType::CommonName, "x")]);
        for cut in [1, 10, der.len() / 2, der.len() - 1] {
            assert_eq!(common_name(&der[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn bmp_and_teletex_strings() {
        assert_eq!(text_of(0x1e, &[0, b'a', 0, b'b']).as_deref(), Some("ab"));
        assert_eq!(text_of(0x14, &[0xe9]).as_deref(), Some("é"));
        assert_eq!(text_of(0x02, b"x"), None);
    }
}
