use super::app::{four_groups, is_word, separator_triples};
use super::sasl::{b64_decode, is_sasl_plain};
use super::*;

fn kinds(text: &str) -> Vec<SecretKind> {
    find(text).into_iter().map(|(k, _)| k).collect()
}

fn values(text: &str) -> Vec<&str> {
    find(text).into_iter().map(|(_, r)| &text[r]).collect()
}

/// Each text holds exactly the given values, of the given kind; redaction removes each value
/// and nothing else ("[redacted]" stands exactly where each value was).
#[track_caller]
fn check(kind: SecretKind, cases: &[(&str, &[&str])]) {
    for (text, want) in cases {
        let got = values(text);
        assert_eq!(&got, want, "values in {text:?}");
        assert!(
            kinds(text).iter().all(|k| *k == kind),
            "kinds in {text:?}: {:?}",
            kinds(text)
        );
        let mut expected = text.to_string();
        for v in want.iter() {
            expected = expected.replacen(v, "[redacted]", 1);
        }
        assert_eq!(redact(text), expected, "redaction of {text:?}");
    }
}

#[track_caller]
fn check_none(texts: &[&str]) {
    for text in texts {
        assert_eq!(values(text), Vec::<&str>::new(), "{text:?}");
        assert_eq!(redact(text), *text);
    }
}

#[test]
fn labelled_passwords_are_found() {
    check(
        SecretKind::Password,
        &[
            ("password: hunter2!", &["hunter2!"]),
            ("Password = \"Zq8!mailpw", &["Zq8!mailpw"]),
            ("my password is Tr0ub4dor&3", &["Tr0ub4dor&3"]),
            ("pwd=s3cretvalue", &["s3cretvalue"]),
            ("pw=Kx9vLm22", &["Kx9vLm22"]),
            ("user bob@acme.com pass Summer2024", &["Summer2024"]),
            ("Password - qwerty123", &["qwerty123"]),
            ("| Password | Ember#2291 |", &["Ember#2291"]),
            (
                "the password I'm using is Lemon!Tree5 and it works",
                &["Lemon!Tree5"],
            ),
            ("password for bob@acme.com: Sunny-Day-77", &["Sunny-Day-77"]),
        ],
    );
}

#[test]
fn labels_in_other_languages() {
    check(
        SecretKind::Password,
        &[
            ("Passwort: Kuchen!2024", &["Kuchen!2024"]),
            ("mein Passwort ist Kuchen!2024", &["Kuchen!2024"]),
            ("Mi contraseña es Girasol#88", &["Girasol#88"]),
            ("contraseña: Girasol#88", &["Girasol#88"]),
            ("mon mot de passe est Soleil_99!", &["Soleil_99!"]),
            ("Mot de passe : Soleil_99!", &["Soleil_99!"]),
            ("minha senha é Praia2023$", &["Praia2023$"]),
            ("senha: Praia2023$", &["Praia2023$"]),
            ("Kennwort: Wolke7Himmel", &["Wolke7Himmel"]),
        ],
    );
}

/// Found wherever the regex alone would find them: after a label on a following line, and
/// in a label spelt with a long s.
#[test]
fn labels_on_following_lines_and_long_s() {
    check(
        SecretKind::Password,
        &[
            ("password stuff\npassword:\nhunter2xyz", &["hunter2xyz"]),
            ("paſſword: hunter2xyz", &["hunter2xyz"]),
            ("contraſeña: hunter2xyz", &["hunter2xyz"]),
        ],
    );
}

#[test]
fn config_and_env_lines() {
    check(
        SecretKind::Password,
        &[
            ("MAIL_PASSWORD=Zq8!mailpw", &["Zq8!mailpw"]),
            ("SMTP_PASS=Zq8!mailpw", &["Zq8!mailpw"]),
            ("EMAIL_HOST_PASSWORD = 'Zq8 mail pw'", &["Zq8 mail pw"]),
            (
                r#"{"user": "bob@x.com", "password": "Zq8!mailpw"}"#,
                &["Zq8!mailpw"],
            ),
            (r#""pass": "abc""#, &["abc"]),
            (
                "smtp:\n  user: bob\n  password: 'Zq8!mailpw'\n",
                &["Zq8!mailpw"],
            ),
            ("spring.mail.password=Zq8!mailpw", &["Zq8!mailpw"]),
            ("<password>Zq8!mailpw</password>", &["Zq8!mailpw"]),
            ("'password' => 'Zq8!mailpw',", &["Zq8!mailpw"]),
            ("auth: { user: 'bob', pass: 'Zq8!mailpw' }", &["Zq8!mailpw"]),
        ],
    );
}

#[test]
fn quoted_values_in_prose() {
    check(
        SecretKind::Password,
        &[
            (
                "I changed it twice, the current one is 'Winter#2024'",
                &["Winter#2024"],
            ),
            (
                "the new one is \"correct horse battery\" and still nothing",
                &["correct horse battery"],
            ),
            (
                "I have typed \"Tr0ub4dor&3\" TEN TIMES and it STILL says wrong password!!!",
                &["Tr0ub4dor&3"],
            ),
            (
                "WHY does it reject my password?!\nI KNOW it's `Sunshine2024!`, I use it every day",
                &["Sunshine2024!"],
            ),
        ],
    );
}

#[test]
fn command_line_flags() {
    check(
        SecretKind::Password,
        &[
            (
                "imapsync --host1 imap.x.com --user1 bob --password1 Zq8mailpw9 --host2 y",
                &["Zq8mailpw9"],
            ),
            (
                "swaks --auth-password=Zq8mailpw9 --to a@b.c",
                &["Zq8mailpw9"],
            ),
            ("doveadm auth test bob --password hunter2", &["hunter2"]),
            ("mysql -u bob -p Zq8mailpw9 -h db", &["Zq8mailpw9"]),
            (
                "curl -u bob@x.com:Zq8mailpw9 imaps://imap.x.com",
                &["Zq8mailpw9"],
            ),
        ],
    );
    check_none(&[
        "nmap -p 993 imap.x.com",
        "ssh -p 2222 host",
        "I tried -p and it failed",
        "use the -p flag",
        "--password $SMTP_PASS",
        "--password=${MAIL_PASSWORD} --user bob",
        "--password <password>",
    ]);
}

#[test]
fn url_userinfo() {
    check(
        SecretKind::Password,
        &[
            ("imaps://bob:Zq8mailpw9@imap.x.com:993", &["Zq8mailpw9"]),
            ("smtp://bob@x.com:p@ss:w0rd@smtp.x.com", &["p@ss:w0rd"]),
            (
                "MAIL_URL=smtps://u%40x.com:hunter22@smtp.x.com:465",
                &["hunter22"],
            ),
        ],
    );
    check_none(&[
        "imaps://user:password@imap.x.com",
        "imaps://user:pass@imap.x.com",
        "smtp://user:****@smtp.x.com",
        "https://imap.x.com:993/path?a=b@c",
        "imaps://imap.x.com:993",
    ]);
}

#[test]
fn sasl_plain_and_login() {
    // "\0bob@example.com\0hunter2" and "bob\0bob\0Zq8mailpw9".
    check(
        SecretKind::Password,
        &[
            ("C: AUTH PLAIN AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy\nS: 535 5.7.8", &["AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy"]),
            ("> AUTH PLAIN\n< 334\n> Ym9iAGJvYgBacThtYWlscHc5", &["Ym9iAGJvYgBacThtYWlscHc5"]),
            (
                "a1 AUTHENTICATE PLAIN\n+\nAGJvYkBleGFtcGxlLmNvbQBodW50ZXIy\na1 NO [AUTHENTICATIONFAILED]",
                &["AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy"],
            ),
            // User "bob", password "hunter2".
            (
                "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: Ym9i\nS: 334 UGFzc3dvcmQ6\nC: aHVudGVyMg==\nS: 535 5.7.8 Authentication failed",
                &["aHVudGVyMg=="],
            ),
            ("AUTH LOGIN Ym9i\n334 UGFzc3dvcmQ6\naHVudGVyMg==", &["aHVudGVyMg=="]),
            // In a server's trace, inside quotes and escapes.
            (
                "event=\"read\" data=\"AUTH PLAIN AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy\\r\\n\" size=40",
                &["AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy"],
            ),
            // Three lines after the capability that names AUTH=PLAIN.
            (
                "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\nC: 1 [INITIAL CLIENT RESPONSE (username: bob)]\nS: +\nC: AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy\nS: 1 NO Login failed.",
                &["AGJvYkBleGFtcGxlLmNvbQBodW50ZXIy"],
            ),
        ],
    );
    check_none(&[
        "AUTH LOGIN\n334 VXNlcm5hbWU6\nthen it failed",
        "AUTH PLAIN is not supported by this server",
        "250-AUTH PLAIN LOGIN XOAUTH2",
        // Base64 of "hello world": not user\0pass.
        "AUTH PLAIN aGVsbG8gd29ybGQ=",
    ]);
}

#[test]
fn imap_login_lines() {
    check(
        SecretKind::Password,
        &[
            ("a1 LOGIN bob \"Zq8 mail pw\"", &["Zq8 mail pw"]),
            (
                "C: A001 login bob@x.com hunter22\nS: A001 NO [AUTHENTICATIONFAILED]",
                &["hunter22"],
            ),
            ("2024-01-02 10:00:01 >> a LOGIN \"bob\" \"Zq8\"", &["Zq8"]),
            (
                "M = imaplib.IMAP4_SSL(host)\nM.login('bob@x.com', 'Zq8mailpw9')",
                &["Zq8mailpw9"],
            ),
            ("server.login(user, \"hunter22\")", &["hunter22"]),
            (
                "Swift_Authenticator_LOGIN->isAuthenticated('forms@media...', 'qtw&K518', Object(Swift)) #4",
                &["qtw&K518"],
            ),
            (
                "Imap4Exception: Command \"login kwame@gmail.com Baobab!2290\" failed : * NO",
                &["Baobab!2290"],
            ),
            (
                "_imap_command_do('Mail::IMAPClient=HASH(0x3de8c30)', 'LOGIN admin@x.es carr/ot') called at",
                &["carr/ot"],
            ),
            ("=> 'A1 LOGIN \"bob\" \"Hunter22\"'", &["Hunter22"]),
            (
                "transport.connect(\"smtp.x.com\", \"bob\", \"hunter22\");",
                &["hunter22"],
            ),
        ],
    );
    check_none(&[
        "my login is bob and it fails",
        "says LOGIN failed",
        "a1 LOGIN bob {7}",
        "M.login(user, password)",
        "the login page says LOGIN failed",
    ]);
}

#[test]
fn oauth_and_bearer_tokens() {
    check(
        SecretKind::Token,
        &[
            (
                "Authorization: Bearer ya29.a0AfB_byC1x2y3z4abcdefghijklmnop",
                &["ya29.a0AfB_byC1x2y3z4abcdefghijklmnop"],
            ),
            (
                "access_token=EwBwA8l6BAAUbDba3x7GqK2ab",
                &["EwBwA8l6BAAUbDba3x7GqK2ab"],
            ),
            (
                r#"{"refresh_token": "1//0gLx2Abcdefghijklmnopqrstuvw", "expires_in": 3599}"#,
                &["1//0gLx2Abcdefghijklmnopqrstuvw"],
            ),
            (
                "token is ya29.a0ARrdaM-abcdefghijklmnopqrstuvwxyz012 now",
                &["ya29.a0ARrdaM-abcdefghijklmnopqrstuvwxyz012"],
            ),
            (
                "jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl",
                &["eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl"],
            ),
            (
                "client_secret: GOCSPX-abcdEFGH1234ijkl",
                &["GOCSPX-abcdEFGH1234ijkl"],
            ),
            // AUTH XOAUTH2: "user=bob@x.com\x01auth=Bearer abc\x01\x01".
            (
                "AUTH XOAUTH2 dXNlcj1ib2JAeC5jb20BYXV0aD1CZWFyZXIgYWJjAQE=",
                &["dXNlcj1ib2JAeC5jb20BYXV0aD1CZWFyZXIgYWJjAQE="],
            ),
        ],
    );
    check_none(&[
        "Authorization: Bearer <token>",
        "Authorization: Bearer $ACCESS_TOKEN",
        "Bearer YOUR_ACCESS_TOKEN",
        "the access token expired, do I need a refresh token?",
        "access_token: <redacted>",
    ]);
}

#[test]
fn app_passwords_in_four_groups() {
    check(
        SecretKind::AppPassword,
        &[
            (
                "here is my app password abcd efgh ijkl mnop",
                &["abcd efgh ijkl mnop"],
            ),
            ("qwer-tyui-opas-dfgh", &["qwer-tyui-opas-dfgh"]),
            // No label at all, in any language's sentence.
            (
                "Ich habe qwrt zxvb nmkl pfds eingegeben, geht nicht",
                &["qwrt zxvb nmkl pfds"],
            ),
            (
                "mi contraseña de aplicación es hjkl wert zcvb nmqp y no funciona",
                &["hjkl wert zcvb nmqp"],
            ),
            (
                "j'ai mis xkcd qwrt plmn bvcx comme mot de passe d'application",
                &["xkcd qwrt plmn bvcx"],
            ),
            ("Apple: wxyz-abcd-qrst-uvwx", &["wxyz-abcd-qrst-uvwx"]),
            // Without spaces, after "app pass".
            ("app password: qwrtzxvbnmklpfds", &["qwrtzxvbnmklpfds"]),
            ("my app pass is hjklwertzcvbnmqp", &["hjklwertzcvbnmqp"]),
            (
                "generated an app password, it's qwrtzxvbnmklpfds",
                &["qwrtzxvbnmklpfds"],
            ),
        ],
    );
}

#[test]
fn placeholders_and_masks_are_not_secrets() {
    check_none(&[
        "password: ********",
        "password: •••••••",
        "password: <password>",
        "password: [hidden]",
        "password: $PASSWORD",
        "SMTP_PASS=${SMTP_PASS}",
        "MAIL_PASSWORD=%MAIL_PASSWORD%",
        "password: xxx",
        "password: xxxxxxxx",
        "password: hunt****",
        "password: ••••1234",
        "password: your_password",
        "\"password\": \"your-app-password\"",
        "pass: process.env.SMTP_PASS",
        "password = os.environ['MAIL_PASSWORD']",
        "password: {{ smtp_password }}",
        "I typed the correct password",
        "my password",
        "password: my password",
        "password: \"the correct password\"",
        "the password is correct",
        "my password is correct",
        "I typed the password manually",
        "the password field is empty",
        "I use an app password for gmail",
        "password-less login",
        "Mi contraseña es correcta",
        "mein Passwort ist richtig",
        "mon mot de passe est correct",
        "minha senha é a mesma",
        "PASSWORD_FILE=/run/secrets/mail",
        "Password: app-specific one",
        "Password: (the one from the setup email)",
        "password: same as webmail",
        "Password = [hidden]",
        "password: REDACTED",
        "pass-through mode",
        "PW reset link sent",
        "new pw: N/A",
        // From real reports: an empty setting, a variable, a placeholder, a masked app password.
        "DB_PASSWORD=\n\nREDIS_HOST=127.0.0.1\nREDIS_PASSWORD=null",
        "MAIL_PASSWORD=\nMAIL_ENCRYPTION=tls",
        "password:\n  host: imap.x.com",
        "aiosmtplib.send(message, username=email, password=pword, hostname=HOST)",
        "SMTP_PASSWORD=smtp-password-here",
        "password: --REMOVED--",
        "app password: xxxx xxxx xxxx xxxx (the one google gave me)",
        "Passwort: [entfernt]",
        "=> 'A1 LOGIN \"xyz\" \"yyy\"'",
        "password: zzzz",
    ]);
}

#[test]
fn ordinary_words_are_not_app_passwords() {
    check_none(&[
        "when imap sync runs",
        "what does this mean",
        "what does this mean for mail",
        "I use an app password and when imap sync runs it fails",
        "pass the test",
        "they said pass along the logs",
        "lose your password again and then what",
    ]);
}

/// One redaction replaced the word before the password and left the password: the range
/// covers exactly the value.
#[test]
fn redaction_replaces_exactly_the_value() {
    let text = "Login: me@acme.com, password: Hunter2Hunter2 and app password wxyz abcd qrst uvwx";
    assert_eq!(
        redact(text),
        "Login: me@acme.com, password: [redacted] and app password [redacted]"
    );
    assert_eq!(redact("pass Summer2024 ok"), "pass [redacted] ok");
    assert_eq!(
        redact("password is \"a b c\"!"),
        "password is \"[redacted]\"!"
    );
}

/// An excerpt is redacted with the whole text's context: the label may sit outside it, and a
/// value it cuts is redacted as far as it reaches.
#[test]
fn excerpts_are_redacted_in_context() {
    let text = "password:\nHunter2Hunter2 and then 535 5.7.8 failed";
    let line = text.find('H').unwrap()..text.len();
    assert_eq!(
        redact(&text[line.clone()]),
        &text[line.clone()],
        "alone it is not found"
    );
    assert_eq!(
        redact_span(text, line),
        "[redacted] and then 535 5.7.8 failed"
    );
    assert_eq!(redact_span(text, 14..16), "[redacted]");
    assert_eq!(redact_span(text, 0..9), "password:");
    assert_eq!(redact_span(text, 40..400), &text[40..]);
    assert_eq!(redact_span("é", 1..2), "é");
}

/// The hand-written scan finds what the plain regex finds.
#[test]
fn four_group_scan_agrees_with_the_regex() {
    let oracle = Regex::new(r"\b[a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}\b").unwrap();
    let samples = [
        "abcd efgh ijkl mnop",
        "xabcd efgh ijkl mnop",
        "abcd efgh ijkl mnopq",
        "“abcd-efgh-ijkl-mnop”",
        "été abcd efgh ijkl mnop é",
        "abcd efgh ijkl mnop abcd efgh ijkl mnop",
        "abcd  efgh ijkl mnop",
        "_abcd efgh ijkl mnop",
        "ab1d efgh ijkl mnop",
        "abcd-efgh-ijkl-mnop-qrst-uvwx-yzab-cdef",
        "abcd efgh ijkl mnop-abcd efgh ijkl mnop",
        "- abcd efgh ijkl mnop",
        "abc efgh ijkl mnop qrst",
    ];
    for text in samples {
        let ours: Vec<&str> = four_groups(text)
            .into_iter()
            .map(|(r, _)| &text[r])
            .collect();
        let theirs: Vec<&str> = oracle.find_iter(text).map(|m| m.as_str()).collect();
        assert_eq!(ours, theirs, "{text:?}");
    }
}

#[test]
fn the_word_list_is_loaded() {
    for w in [
        "when", "imap", "sync", "runs", "what", "smtp", "casa", "haus",
    ] {
        assert!(is_word(w.as_bytes()), "{w}");
    }
    for w in ["qwrt", "zxvb", "abcd", "dfgh"] {
        assert!(!is_word(w.as_bytes()), "{w}");
    }
}

#[test]
fn base64_decodes() {
    assert_eq!(b64_decode("aHVudGVyMg==").unwrap(), b"hunter2");
    assert_eq!(b64_decode("aHVudGVyMg").unwrap(), b"hunter2");
    assert!(b64_decode("abcde").is_none());
    assert!(b64_decode("ab$d").is_none());
    assert!(is_sasl_plain(b"\0bob\0pw"));
    assert!(is_sasl_plain(b"bob\0pw"));
    assert!(!is_sasl_plain(b"bob\0"));
    assert!(!is_sasl_plain(b"hello"));
}

proptest::proptest! {
    /// The scan agrees with the regex on text made of its own pieces.
    #[test]
    fn four_group_scan_agrees_with_the_regex_on_any_text(
        text in "([a-c]{4}|[ -]|[a-cA_1é]|abcd efgh ijkl mnop){0,30}"
    ) {
        let oracle =
            Regex::new(r"\b[a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}\b").unwrap();
        let ours: Vec<&str> = four_groups(&text).into_iter().map(|(r, _)| &text[r]).collect();
        let theirs: Vec<&str> = oracle.find_iter(&text).map(|m| m.as_str()).collect();
        proptest::prop_assert_eq!(ours, theirs);
    }

    /// The word-at-a-time search finds what a byte-by-byte one does.
    #[test]
    fn separator_triples_agree_with_a_byte_search(text in "[ a\u{a0}é-]{0,80}") {
        let b = text.as_bytes();
        let sep = |i: usize| b.get(i).is_some_and(|&c| c == b' ' || c == b'-');
        let expected: Vec<usize> = (0..b.len()).filter(|&p| sep(p) && sep(p + 5) && sep(p + 10)).collect();
        proptest::prop_assert_eq!(separator_triples(b), expected);
    }

    /// Finds never overlap, are in order, and lie on char boundaries; redaction never panics.
    #[test]
    fn finds_are_ordered_and_disjoint(text in "(password: |pass |a1 LOGIN bob |AUTH PLAIN |://u:|Bearer |[a-zA-Z0-9 \n\"'@:=é-]{1,12}){0,20}") {
        let found = find(&text);
        for pair in found.windows(2) {
            proptest::prop_assert!(pair[0].1.end <= pair[1].1.start);
        }
        for (_, r) in &found {
            proptest::prop_assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
        }
        let _ = redact(&text);
    }
}

/// Forms from the held-out batch of issue 9 (`tests/corpus`, 380 on): numbered flags, a
/// database URL, a value glued to a digit, "current one is", app secrets in env files; and the
/// prose and masks around them that hold none.
#[test]
fn held_out_forms() {
    check(
        SecretKind::Password,
        &[
            (
                "imapsync --host1 imap.zoho.com --user1 a@lumen-tea.co --password1 'Lumen!tea55' --justlogin",
                &["Lumen!tea55"],
            ),
            (
                "DATABASE_MYSQL_URL: 'mysql://root:Vb7qTz2Lw@mariadb:3306/snappdb'",
                &["Vb7qTz2Lw"],
            ),
            (
                "host=imap.gmx.net port=993 user=anna.k@gmx.de pwd=Sonnenblume!7",
                &["Sonnenblume!7"],
            ),
            (
                "I changed the password twice, current one is \"Lavender&Fog91\". hub 1190842",
                &["Lavender&Fog91"],
            ),
        ],
    );
    check(
        SecretKind::Token,
        &[
            (
                "      TOKEN_SECRET: kP3rW9sLq2XvB7nM4tY8cH1dF6gJ0aZeUoRiQwEx5Ns=",
                &["kP3rW9sLq2XvB7nM4tY8cH1dF6gJ0aZeUoRiQwEx5Ns="],
            ),
            ("JWT_SECRET=9fKq2LmZx7RtVb3NwYp1", &["9fKq2LmZx7RtVb3NwYp1"]),
        ],
    );
    check_none(&[
        "Note that the password is transmitted insecurely (not my choice).",
        "the password is stored encrypted on the server",
        "535 5.7.8  https://support.google.com/mail/?p=BadCredentials PASSWORD - gsmtp",
        "note this password is fake.",
        "      SMTP_PASS: xxxxxxxxxx",
        "[username: H********@icloud.com host: imap.mail.me.com port: 993 password: ****12]",
        "12 March 2024 10:02:13 DEBUG S: 334 UGFzc3dvcmQ6",
    ]);
}
