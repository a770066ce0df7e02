//! Conformance of the eval language with the examples of Splunk's documentation pages (input
//! fields → output), and the traps of eval and `where`. Each test names its page (Search
//! Reference unless said otherwise).

mod eval_support;

use eval_support::{Rec, eval_on, eval0, keeps, parse};

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

// ---- eval command page ----

#[test]
fn eval_page_rounding_follows_the_precision_of_the_inputs() {
    assert_eq!(eval0("8.250 * 0.2"), s("2"));
    assert_eq!(eval0("8.250 * 0.20"), s("1.7"));
    assert_eq!(eval0("8.250 * 0.200"), s("1.65"));
    assert_eq!(eval0("8.250 * exact(0.2)"), s("1.650"));
}

#[test]
fn eval_page_long_numbers_lose_precision_past_2_to_the_53() {
    let r = Rec::default();
    assert_eq!(eval_on("pow(2, 53)-1", &r), s("9007199254740991"));
    assert_eq!(eval_on("(pow(2, 53)-1) + 1", &r), s("9007199254740992"));
    assert_eq!(eval_on("(pow(2, 53)-1) + 2", &r), s("9007199254740992"));
}

#[test]
fn eval_page_examples() {
    let r = Rec::new(&[
        ("distance", "100"),
        ("time", "8"),
        ("status", "200"),
        ("username", "Alice"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("radius_a", "1"),
        ("radius_b", "2"),
        ("error", "404"),
        ("x", "1000000.1278"),
        ("mailfrom", "na.lui@sample.net"),
    ]);
    assert_eq!(eval_on("distance/time", &r), s("12.5"));
    assert_eq!(
        eval_on(r#"if(status == 200, "OK", "Problem")"#, &r),
        s("OK")
    );
    assert_eq!(eval_on("lower(username)", &r), s("alice"));
    assert_eq!(
        eval_on(r#"first_name." ".last_name"#, &r),
        s("Ada Lovelace")
    );
    // pi() has 12 significant figures.
    assert_eq!(
        eval_on("pi() * pow(radius_a, 2) + pi() * pow(radius_b, 2)", &r),
        s("15.7079632680")
    );
    assert_eq!(
        eval_on(
            r#"case(error == 404, "Not found", error == 500, "Internal Server Error", error == 200, "OK")"#,
            &r
        ),
        s("Not found")
    );
    assert_eq!(eval_on(r#"tostring(x,"commas")"#, &r), s("1,000,000.13"));
    assert_eq!(
        eval_on(r#""$".tostring(x,"commas")"#, &r),
        s("$1,000,000.13")
    );
    assert_eq!(
        eval_on(r#"mvindex(split(mailfrom,"@"),0)"#, &r),
        s("na.lui")
    );
    assert_eq!(
        eval_on(r#"mvindex(split(mailfrom,"@"),-1)"#, &r),
        s("sample.net")
    );
    assert_eq!(
        eval_on(
            r#"if(match(mvindex(split(mailfrom,"@"),-1), "[^\n\r\s]+\.(com|net|org)"), "local", "abroad")"#,
            &r
        ),
        s("local")
    );
    assert_eq!(eval_on(r#"tostring(615, "duration")"#, &r), s("00:10:15"));
}

#[test]
fn eval_page_one_equal_sign_is_two() {
    let r = Rec::new(&[("status", "404")]);
    assert!(keeps("status=404", &r));
    assert!(keeps("status==404", &r));
    assert!(!keeps("status=200", &r));
}

#[test]
fn eval_page_quoted_field_names() {
    let r = Rec::new(&[("server-1", "5"), ("count", "2"), ("Last.Name", "Doe")]);
    assert_eq!(eval_on("count+'server-1'", &r), s("7"));
    assert_eq!(eval_on("'Last.Name'", &r), s("Doe"));
    // Without quotes, a period concatenates: `Last.Name` is `Last . Name`, both null.
    assert_eq!(eval_on("Last.Name", &r), None);
    assert_eq!(eval_on(r#""server-".count"#, &r), s("server-2"));
}

#[test]
fn expressions_page_string_escapes() {
    // Search Manual, "Types of expressions".
    assert_eq!(eval0(r#""C:\\windows""#), s(r"C:\windows"));
    assert_eq!(eval0(r#""C:\\windows\temp""#), s("C:\\windows\temp"));
    assert_eq!(eval0(r#""C:\\windows\\temp""#), s(r"C:\windows\temp"));
    assert_eq!(eval0("5-4"), s("1"));
}

#[test]
fn boolean_order_is_not_and_or_xor() {
    // Search Manual, "Boolean expressions with logical operators".
    let r = Rec::default();
    // AND before OR.
    assert!(keeps("1=1 OR 1=2 AND 1=2", &r));
    // OR before XOR: (true OR false) XOR true = false.
    assert!(!keeps("1=1 OR 1=2 XOR 1=1", &r));
    // NOT binds to the comparison.
    assert!(keeps("NOT 1=2 AND 1=1", &r));
    assert!(keeps("(1=1 OR 1=2) XOR 1=2", &r));
}

// ---- Comparison and Conditional functions ----

#[test]
fn case_returns_the_first_true_value_or_null() {
    let expr = r#"case(status==200, "OK", status==404, "Not found", status==500, "Internal Server Error")"#;
    for (status, want) in [
        ("200", s("OK")),
        ("408", None),
        ("404", s("Not found")),
        ("500", s("Internal Server Error")),
    ] {
        assert_eq!(eval_on(expr, &Rec::new(&[("status", status)])), want);
    }
    let with_default = r#"case(status==200,"OK", status==404, "Not found", true(), "Other")"#;
    assert_eq!(
        eval_on(with_default, &Rec::new(&[("status", "406")])),
        s("Other")
    );
    let depth = r#"case(depth<=70, "Low", depth>70 AND depth<=300, "Mid", depth>300, "Deep")"#;
    assert_eq!(eval_on(depth, &Rec::new(&[("depth", "70")])), s("Low"));
    assert_eq!(eval_on(depth, &Rec::new(&[("depth", "70.5")])), s("Mid"));
    assert_eq!(eval_on(depth, &Rec::new(&[("depth", "301")])), s("Deep"));
}

#[test]
fn case_short_circuits() {
    // The second condition would need a regex abort or an error if it ran; it must not run.
    let e = parse(r#"case(true(), "first", match(x, "^(\w+\s?)*\1$"), "second")"#);
    let long = format!("{}!", "a ".repeat(30));
    let r = Rec::new(&[("x", long.as_str())]);
    assert_eq!(e.eval(&r, &eval_support::ctx()).to_string(), "first");
    assert_eq!(e.limit_hits(), 0);
}

#[test]
fn cidrmatch_examples() {
    let r = Rec::new(&[("subnet", "192.0.2.0/24"), ("ip", "192.0.3.0")]);
    assert_eq!(
        eval_on(r#"if(cidrmatch(subnet, ip), "true", "false")"#, &r),
        s("false")
    );
    assert!(keeps(
        r#"cidrmatch("192.0.2.0/24", ip)"#,
        &Rec::new(&[("ip", "192.0.2.56")])
    ));
    let v6 = Rec::new(&[
        ("subnet", "2001:0db8:ffff:ffff:ffff:ffff:ffff:ff00/120"),
        ("ip", "2001:0db8:ffff:ffff:ffff:ffff:ffff:ff99"),
    ]);
    assert_eq!(
        eval_on(r#"if(cidrmatch(subnet, ip), "true", "false")"#, &v6),
        s("true")
    );
    assert_eq!(
        eval_on(
            r#"if(cidrmatch("123.132.32.0/25",ip), "local", "not local")"#,
            &Rec::new(&[("ip", "123.132.32.200")])
        ),
        s("not local")
    );
}

#[test]
fn coalesce_takes_the_first_non_null() {
    let both = Rec::new(&[("clientip", "1.1.1.1"), ("ipaddress", "2.2.2.2")]);
    let second = Rec::new(&[("ipaddress", "2.2.2.2")]);
    assert_eq!(eval_on("coalesce(clientip,ipaddress)", &both), s("1.1.1.1"));
    assert_eq!(
        eval_on("coalesce(clientip,ipaddress)", &second),
        s("2.2.2.2")
    );
    assert_eq!(eval0("coalesce(a, b)"), None);
    assert_eq!(eval0(r#"coalesce(a, "")"#), s(""));
}

#[test]
fn if_examples() {
    let e = r#"if(error == 200, "OK", "Error")"#;
    assert_eq!(eval_on(e, &Rec::new(&[("error", "200")])), s("OK"));
    assert_eq!(eval_on(e, &Rec::new(&[("error", "500")])), s("Error"));
    // A null condition takes the false branch.
    assert_eq!(eval_on(e, &Rec::default()), s("Error"));
}

#[test]
fn in_function_and_operator() {
    let r = Rec::new(&[("status", "404")]);
    assert!(keeps(r#"in(status,"400", "401", "403", "404")"#, &r));
    assert!(keeps(r#"status in("400", "401", "403", "404")"#, &r));
    assert!(keeps(r#"status IN ("400", "401", "403", "404")"#, &r));
    assert!(!keeps(r#"status in("400", "401")"#, &r));
    assert_eq!(
        eval_on(r#"if(in(status, "404","500","503"),"true","false")"#, &r),
        s("true")
    );
    let ips = Rec::new(&[("ipaddress", "10.0.0.1"), ("clientip", "203.0.113.255")]);
    assert!(keeps(r#""203.0.113.255" in(ipaddress, clientip)"#, &ips));
    // No wildcards in IN.
    assert!(!keeps(r#"status in("40*")"#, &r));
    // Null subject: null, so not kept, and NOT of it neither.
    assert!(!keeps(r#"missing IN ("a")"#, &r));
    assert!(!keeps(r#"NOT missing IN ("a")"#, &r));
}

#[test]
fn like_examples_and_wildcards() {
    let e = r#"if(like(field, "foo%"), "yes a foo", "not a foo")"#;
    assert_eq!(
        eval_on(e, &Rec::new(&[("field", "foobar")])),
        s("yes a foo")
    );
    assert_eq!(
        eval_on(e, &Rec::new(&[("field", "barfoo")])),
        s("not a foo")
    );
    let ip = Rec::new(&[("ipaddress", "198.51.100.7")]);
    assert!(keeps(r#"like(ipaddress, "198.%")"#, &ip));
    assert!(keeps(r#"ipaddress LIKE "198.%""#, &ip));
    assert!(keeps(r#"ipaddress like "198.51.100._""#, &ip));
    assert!(!keeps(r#"ipaddress like "198.51.100.__""#, &ip));
    // `field LIKE "a%b_"`.
    let f = |v: &str| keeps(r#"field LIKE "a%b_""#, &Rec::new(&[("field", v)]));
    assert!(f("axxbz"));
    assert!(f("abz"));
    assert!(!f("axxb"));
    assert!(!f("Axxbz"), "LIKE is case-sensitive");
}

#[test]
fn match_examples() {
    let e = r#"if(match(field, "^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"), 1, 0)"#;
    assert_eq!(eval_on(e, &Rec::new(&[("field", "10.1.2.3")])), s("1"));
    assert_eq!(eval_on(e, &Rec::new(&[("field", "10.1.2.3x")])), s("0"));
    assert_eq!(
        eval_on(
            r#"if(match(test, "\"yes\""), 1, 0)"#,
            &Rec::new(&[("test", "\"yes\"")])
        ),
        s("1")
    );
    assert_eq!(eval0(r#"match(missing, "x")"#), None);
}

#[test]
fn nullif_examples() {
    let same = Rec::new(&[("names", "rarity"), ("ponies", "rarity")]);
    let differ = Rec::new(&[("names", "buttercup"), ("ponies", "mistmane")]);
    assert_eq!(eval_on("nullif(names, ponies)", &same), None);
    assert_eq!(eval_on("nullif(names, ponies)", &differ), s("buttercup"));
}

#[test]
fn validate_example() {
    let e = r#"validate(isint(port), "ERROR: Port is not an integer", port >= 1 AND port <= 65535, "ERROR: Port is out of range")"#;
    assert_eq!(eval_on(e, &Rec::new(&[("port", "80")])), None);
    assert_eq!(
        eval_on(e, &Rec::new(&[("port", "80.5")])),
        s("ERROR: Port is not an integer")
    );
    assert_eq!(
        eval_on(e, &Rec::new(&[("port", "70000")])),
        s("ERROR: Port is out of range")
    );
}

#[test]
fn true_false_null() {
    assert!(keeps("true()", &Rec::default()));
    assert!(!keeps("false()", &Rec::default()));
    assert_eq!(eval0("null()"), None);
    assert_eq!(eval0("isnull(null())"), s("true"));
}

// ---- Text functions ----

#[test]
fn text_function_examples() {
    for (name, len) in [
        ("buttercup", "9"),
        ("rarity", "6"),
        ("tenderhoof", "10"),
        ("dash", "4"),
        ("mistmane", "8"),
    ] {
        assert_eq!(eval_on("len(names)", &Rec::new(&[("names", name)])), s(len));
    }
    assert_eq!(eval0(r#"len("naïve")"#), s("5"), "code points, not bytes");
    assert_eq!(eval0(r#"ltrim(" ZZZZabcZZ ", " Z")"#), s("abcZZ "));
    assert_eq!(eval0(r#"rtrim(" ZZZZabcZZ ", " Z")"#), s(" ZZZZabc"));
    assert_eq!(eval0(r#"trim(" ZZZZabcZZ ", " Z")"#), s("abc"));
    assert_eq!(eval0(r#"trim("  \t x \t")"#), s("x"));
    assert_eq!(
        eval_on(
            r#"ltrim(NET_COST, "$")"#,
            &Rec::new(&[("NET_COST", "$12.50")])
        ),
        s("12.50")
    );
    assert_eq!(
        eval_on(
            r#"replace(date, "^(\d{1,2})/(\d{1,2})/", "\2/\1/")"#,
            &Rec::new(&[("date", "1/14/2023")])
        ),
        s("14/1/2023")
    );
    assert_eq!(
        eval0(r#"substr("string", 1, 3) + substr("string", -3)"#),
        s("string")
    );
    assert_eq!(
        eval_on("upper(username)", &Rec::new(&[("username", "alice")])),
        s("ALICE")
    );
    assert_eq!(
        eval0(r#"urldecode("http%3A%2F%2Fwww.splunk.com%2Fdownload%3Fr%3Dheader")"#),
        s("http://www.splunk.com/download?r=header")
    );
}

#[test]
fn lower_and_upper_work_on_multivalues() {
    let r = Rec::default().mv("m", &["A", "b"]);
    assert_eq!(eval_on("lower(m)", &r), s("a\nb"));
    assert_eq!(eval_on("upper(m)", &r), s("A\nB"));
}

// ---- Multivalue eval functions ----

#[test]
fn mvappend_examples() {
    let r = Rec::new(&[("srcip", "203.0.113.0"), ("destip", "203.0.113.255")]);
    assert_eq!(
        eval_on(r#"mvappend("localhost", srcip)"#, &r),
        s("localhost\n203.0.113.0")
    );
    let want = s("localhost\n203.0.113.0\n203.0.113.255\n192.168.1.1");
    assert_eq!(
        eval_on(
            r#"mvappend(mvappend("localhost", srcip), destip, "192.168.1.1")"#,
            &r
        ),
        want
    );
    assert_eq!(
        eval_on(r#"mvappend("localhost", srcip, destip, "192.168.1.1")"#, &r),
        want
    );
}

#[test]
fn mvcount_examples() {
    let r = Rec::new(&[("To", "a@x.com,b@y.com"), ("From", "c@z.com")]);
    assert_eq!(eval_on(r#"mvcount(split(To,"@"))-1"#, &r), s("2"));
    assert_eq!(eval_on("mvcount(From)", &r), s("1"));
    assert_eq!(eval_on(r#"mvcount(split(Cc,"@"))-1"#, &r), None);
    assert_eq!(eval_on("mvcount(Cc)", &r), None);
}

#[test]
fn mvdedup_mvfilter_mvfind() {
    let r = Rec::default()
        .mv("mvfield", &["a", "b", "a", "c", "b"])
        .mv("email", &["x@a.net", "y@b.com", "z@c.org"])
        .mv("mymvfield", &["ok", "err42", "err7"]);
    assert_eq!(eval_on("mvdedup(mvfield)", &r), s("a\nb\nc"));
    assert_eq!(
        eval_on(
            r#"mvfilter(match(email, "\.net$") OR match(email, "\.org$"))"#,
            &r
        ),
        s("x@a.net\nz@c.org")
    );
    assert_eq!(eval_on(r#"mvfind(mymvfield, "err\d+")"#, &r), s("1"));
    assert_eq!(eval_on(r#"mvfind(mymvfield, "warn")"#, &r), None);
    assert_eq!(
        eval_on(r#"mvfilter(email != "y@b.com")"#, &r),
        s("x@a.net\nz@c.org")
    );
}

#[test]
fn mvfilter_must_read_one_field() {
    assert!(cimhunt_spl::eval::EvalExpr::parse("mvfilter(a = b)").is_err());
    assert!(cimhunt_spl::eval::EvalExpr::parse(r#"mvfilter("x" = "y")"#).is_err());
}

#[test]
fn mvindex_examples() {
    let names = [
        "alex",
        "celestino",
        "claudia",
        "david",
        "ikraam",
        "nyah",
        "rutherford",
        "wei",
    ];
    let r = Rec::default().mv("names", &names).mv(
        "ponies",
        &[
            "buttercup",
            "dash",
            "flutter",
            "honey",
            "ivory",
            "minty",
            "pinky",
            "rarity",
        ],
    );
    assert_eq!(eval_on("mvindex(names,2)", &r), s("claudia"));
    assert_eq!(
        eval_on("mvindex(names,0,3)", &r),
        s("alex\ncelestino\nclaudia\ndavid")
    );
    assert_eq!(eval_on("mvindex(ponies,-1)", &r), s("rarity"));
    assert_eq!(eval_on("mvindex(ponies,-3)", &r), s("minty"));
    assert_eq!(
        eval_on("mvindex(ponies, -3, -1)", &r),
        s("minty\npinky\nrarity")
    );
    assert_eq!(eval_on("mvindex(ponies, 8)", &r), None);
    assert_eq!(eval_on("mvindex(ponies, 3, 1)", &r), None);
}

#[test]
fn mvjoin_mvmap_mvrange_mvreverse_mvsort() {
    assert_eq!(
        eval0(r#"mvjoin(mvrange(1,6)," OR ")"#),
        s("1 OR 2 OR 3 OR 4 OR 5")
    );
    let r = Rec::default()
        .mv("myfield", &["a", "b"])
        .mv("results", &["1", "2", "3"]);
    assert_eq!(eval_on(r#"mvjoin(myfield, ";")"#, &r), s("a;b"));
    assert_eq!(eval_on("mvmap(results, results*10)", &r), s("10\n20\n30"));
    let t = Rec::default()
        .mv("results", &["1", "2", "3"])
        .mv("threshold", &["5"]);
    assert_eq!(
        eval_on("mvmap(mvindex(results, 1,2), results*threshold)", &t),
        s("10\n15")
    );
    assert_eq!(eval0("mvrange(1,11,2)"), s("1\n3\n5\n7\n9"));
    assert_eq!(
        eval0(r#"mvcount(mvrange(1514834731,1524134919,"7d"))"#),
        s("16")
    );
    assert_eq!(
        eval0(r#"mvindex(mvrange(1514834731,1524134919,"7d"), 1)"#),
        s("1515439531")
    );
    assert_eq!(eval0(r#"mvreverse(split("1,2,3", ","))"#), s("3\n2\n1"));
    assert_eq!(
        eval0(r#"mvsort(split("10,9,70,100", ","))"#),
        s("10\n100\n70\n9")
    );
}

#[test]
fn mvzip_examples() {
    let r = Rec::default()
        .mv("hosts", &["h1", "h2"])
        .mv("ports", &["80", "443"])
        .mv("field3", &["x", "y"]);
    assert_eq!(eval_on("mvzip(hosts,ports)", &r), s("h1,80\nh2,443"));
    assert_eq!(
        eval_on(r#"mvzip(mvzip(hosts,ports,"|"),field3,"|")"#, &r),
        s("h1|80|x\nh2|443|y")
    );
    // The Sysmon add-on's transport_dest_port.
    let sysmon = Rec::new(&[("transport", "tcp"), ("dest_port", "443")]);
    assert_eq!(
        eval_on(r#"mvzip(transport,dest_port,"/")"#, &sysmon),
        s("tcp/443")
    );
    assert_eq!(eval_on(r#"mvzip(transport,missing,"/")"#, &sysmon), None);
}

// ---- Statistical eval functions ----

#[test]
fn avg_max_min_examples() {
    let ab = Rec::new(&[("a", "5.0"), ("b", "9")]);
    assert_eq!(eval_on("avg(a, b, c)", &ab), s("7"));
    assert_eq!(eval0("avg(1, 2, 3)"), s("2"));
    assert_eq!(
        eval_on("avg(a, 2, 3)", &Rec::new(&[("a", "somedata")])),
        s("2.5")
    );
    let max = r#"max(1, 3, 6, 7, "foo", name)"#;
    assert_eq!(eval_on(max, &Rec::new(&[("name", "baz")])), s("foo"));
    assert_eq!(eval_on(max, &Rec::new(&[("name", "zaz")])), s("zaz"));
    let min = r#"min(3, 6, 7, "maria", size)"#;
    assert_eq!(eval_on(min, &Rec::new(&[("size", "9")])), s("3"));
    assert_eq!(eval_on(min, &Rec::new(&[("size", "1")])), s("1"));
    let n = Rec::default().mv("n", &["1", "3", "5", "6", "4", "2"]);
    assert_eq!(eval_on("max(n)", &n), s("6"));
    assert_eq!(eval_on("min(n)", &n), s("1"));
}

#[test]
fn random_is_in_range() {
    for _ in 0..20 {
        let v: f64 = eval0("random()").unwrap().parse().unwrap();
        assert!((0.0..=2147483647.0).contains(&v) && v.fract() == 0.0);
    }
}

// ---- Mathematical functions ----

#[test]
fn mathematical_examples() {
    assert_eq!(eval0("ceil(1.9)"), s("2"));
    assert_eq!(eval0("ceiling(1.9)"), s("2"));
    assert_eq!(eval0("floor(1.9)"), s("1"));
    assert_eq!(eval0("round(3.5)"), s("4"));
    assert_eq!(eval0("round(2.555, 2)"), s("2.56"));
    assert_eq!(eval0("sqrt(9)"), s("3"));
    assert_eq!(eval0("abs(-3)"), s("3"));
    assert_eq!(eval0("exp(0)"), s("1"));
    assert_eq!(eval0("ln(1)"), s("0"));
    assert_eq!(eval0("log(100)"), s("2"));
    assert_eq!(eval0("log(8, 2)"), s("3"));
    assert_eq!(eval0("pow(2, 10)"), s("1024"));
    assert_eq!(eval0("pi()"), s("3.14159265359"));
    assert_eq!(eval0("1.00*1111"), s("1111"));
    assert_eq!(eval0("sigfig(1.00*1111)"), s("1110"));
    assert_eq!(eval0("sigfig(123.0 + 4.567)"), s("127.6"));
    assert_eq!(eval0("exact(3.14 * 2)"), s("6.28"));
}

#[test]
fn sum_examples() {
    assert_eq!(
        eval_on("sum(a, b, c)", &Rec::new(&[("a", "5.0"), ("b", "9")])),
        s("14")
    );
    assert_eq!(eval0("sum(1, 2, 3)"), s("6"));
    assert_eq!(eval0(r#"sum(1, 2, tonumber("3"))"#), s("6"));
    assert_eq!(eval_on("sum(a, 2, 3)", &Rec::new(&[("a", "1")])), s("6"));
    assert_eq!(
        eval_on("sum(a, 2, 3)", &Rec::new(&[("a", "somedata")])),
        s("5")
    );
}

// ---- Conversion functions ----

#[test]
fn conversion_examples() {
    assert_eq!(
        eval0(
            r#"tostring(1==1) + " " + tostring(15, "hex") + " " + tostring(12345.6789, "commas")"#
        ),
        s("True 0xF 12,345.68")
    );
    assert_eq!(
        eval_on(r#"tostring(foo, "duration")"#, &Rec::new(&[("foo", "615")])),
        s("00:10:15")
    );
    assert_eq!(eval0(r#"tostring(9, "binary")"#), s("1001"));
    assert_eq!(eval0(r#"tonumber("0A4",16)"#), s("164"));
    assert_eq!(eval0(r#"tonumber("0101", 2)"#), s("5"));
    assert_eq!(
        eval_on("tonumber(trim(celsius))", &Rec::new(&[("celsius", " 21 ")])),
        s("21")
    );
    assert_eq!(
        eval_on("tonumber(celsius)", &Rec::new(&[("celsius", " 21 ")])),
        None
    );
    assert_eq!(eval0(r#"printf("%04d",1)"#), s("0001"));
    assert_eq!(eval0(r#"printf("%.2f",pi())"#), s("3.14"));
    assert_eq!(
        eval_on(
            r#"printf("%04.4f %-6s|",field_one,field_two)"#,
            &Rec::new(&[("field_one", "3.5"), ("field_two", "ab")])
        ),
        s("3.5000 ab    |")
    );
    assert_eq!(eval0(r#"toint("24")"#), s("24"));
    assert_eq!(eval0("toint(3.14)"), s("3"));
    assert_eq!(
        eval_on(
            r#"if(tobool(units), "In Stock", "Not in Stock")"#,
            &Rec::new(&[("units", "0")])
        ),
        s("Not in Stock")
    );
}

// ---- Date and Time functions ----

#[test]
fn date_and_time_functions() {
    // now is 2020-10-08T11:03:46Z.
    assert_eq!(eval0("now()"), s("1602155026"));
    assert_eq!(eval0("time()"), s("1602155026.000000"));
    assert_eq!(eval0(r#"relative_time(now(), "-1d@d")"#), s("1602028800"));
    assert_eq!(eval0(r#"relative_time(now(), "@h")"#), s("1602154800"));
    assert_eq!(
        eval0(r#"strftime(1602155026.617, "%Y-%m-%dT%H:%M:%S.%3N%z")"#),
        s("2020-10-08T11:03:46.617+0000")
    );
    assert_eq!(
        eval_on(
            r#"strftime(_time, "%H:%M:%S")"#,
            &Rec::new(&[("_time", "1602155026.617920300")])
        ),
        s("11:03:46")
    );
    assert_eq!(
        eval0(r#"strptime("2020-10-08 11:03:46.615", "%Y-%m-%d %H:%M:%S.%3N")"#),
        s("1602155026.615000")
    );
    assert_eq!(
        eval0(r#"strftime(strptime("10/08/2020", "%m/%d/%Y"), "%F")"#),
        s("2020-10-08")
    );
    assert_eq!(eval0(r#"strptime("nonsense", "%Y-%m-%d")"#), None);
    assert!(parse("relative_time(now(), \"-1d@d\")").uses_now());
    assert!(!parse("relative_time(_time, \"-1d@d\")").uses_now());
    assert!(cimhunt_spl::eval::EvalExpr::parse(r#"relative_time(now(), "-1q@z")"#).is_err());
}

// ---- Informational functions ----

#[test]
fn informational_functions() {
    let r = Rec::new(&[("n", "21"), ("f", "2.5"), ("s", "abc")]);
    assert_eq!(eval_on("isnum(n)", &r), s("true"));
    assert_eq!(eval_on(r#"isnum("21")"#, &r), s("false"));
    assert_eq!(eval_on("isint(n)", &r), s("true"));
    assert_eq!(eval_on("isint(f)", &r), s("false"));
    assert_eq!(eval_on("isstr(s)", &r), s("true"));
    assert_eq!(eval_on("isstr(n)", &r), s("false"));
    assert_eq!(eval_on("isbool(1==1)", &r), s("true"));
    assert_eq!(eval_on("isnull(missing)", &r), s("true"));
    assert_eq!(eval_on("isnotnull(s)", &r), s("true"));
    assert_eq!(eval0("typeof(12)"), s("Number"));
    assert_eq!(eval0(r#"typeof("string")"#), s("String"));
    assert_eq!(eval0("typeof(1==2)"), s("Boolean"));
    assert_eq!(eval0("typeof(badfield)"), s("Invalid"));
}

// ---- Cryptographic functions ----

#[test]
fn cryptographic_functions() {
    assert_eq!(
        eval0(r#"md5("abc")"#),
        s("900150983cd24fb0d6963f7d28e17f72")
    );
    assert_eq!(
        eval0(r#"sha1("abc")"#),
        s("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
    assert_eq!(
        eval0(r#"sha256("abc")"#),
        s("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        eval0(r#"sha512("abc")"#),
        s(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    );
}

// ---- Traps ----

#[test]
fn trap_equality_is_case_sensitive_in_where() {
    let r = Rec::new(&[("user", "Admin")]);
    assert!(keeps(r#"user="Admin""#, &r));
    assert!(!keeps(r#"user="admin""#, &r));
    assert!(keeps(r#"lower(user)="admin""#, &r));
    assert!(keeps(r#"user!="admin""#, &r));
}

#[test]
fn trap_numbers_in_quotes_are_strings() {
    let r = Rec::new(&[("count", "10")]);
    // A field that reads as a number compares as a number.
    assert!(keeps("count > 9", &r));
    assert!(keeps("count = 10.0", &r));
    // Quoted, 9 is a string: "10" < "9" byte by byte.
    assert!(keeps(r#"count < "9""#, &r));
    assert!(keeps(r#""10" < 9"#, &r));
    assert!(keeps(r#"count = "10""#, &r));
}

#[test]
fn trap_null_arithmetic_and_comparison() {
    let r = Rec::new(&[("x", "5")]);
    assert_eq!(eval_on("missing + 1", &r), None);
    assert_eq!(eval_on("x + missing", &r), None);
    assert_eq!(eval_on(r#"missing . "a""#, &r), None);
    assert_eq!(eval_on("isnull(missing + 1)", &r), s("true"));
    assert!(!keeps("missing = 1", &r));
    assert!(!keeps("missing != 1", &r));
    assert!(!keeps("NOT missing = 1", &r));
    assert!(keeps("isnull(missing) OR missing != 1", &r));
    // Three-valued AND/OR.
    assert!(!keeps("missing = 1 AND 1 = 1", &r));
    assert!(keeps("missing = 1 OR 1 = 1", &r));
    assert!(!keeps("missing = 1 OR 1 = 2", &r));
    // Division by zero is null.
    assert_eq!(eval_on("x / 0", &r), None);
    assert_eq!(eval_on("x % 0", &r), None);
}

#[test]
fn trap_multivalue_comparison() {
    let r = Rec::default().mv("f", &["x", "y"]);
    assert!(keeps(r#"f="x""#, &r));
    assert!(keeps(r#"f="y""#, &r));
    assert!(!keeps(r#"f="z""#, &r));
    assert!(!keeps(r#"f!="x""#, &r));
    assert!(keeps(r#"f!="z""#, &r));
    assert!(keeps(r#"f IN ("z", "y")"#, &r));
    assert!(keeps(r#"like(f, "y%")"#, &r));
    assert!(keeps(r#"match(f, "^y$")"#, &r));
}

#[test]
fn trap_plus_adds_numbers_and_concatenates_strings() {
    let r = Rec::new(&[("a", "1"), ("b", "2"), ("t", "DWORD")]);
    assert_eq!(eval_on("a + b", &r), s("3"));
    assert_eq!(eval_on("a . b", &r), s("12"));
    assert_eq!(eval_on(r#""REG_" + t"#, &r), s("REG_DWORD"));
    assert_eq!(eval_on(r#""v" + a"#, &r), s("v1"));
    assert_eq!(eval_on(r#""1" + "2""#, &r), s("12"));
    assert_eq!(eval_on("true() + 1", &r), None);
}

#[test]
fn trap_integer_and_float_printing() {
    assert_eq!(eval0("10/4"), s("2.5"));
    assert_eq!(eval0("10/5"), s("2"));
    assert_eq!(eval0("1/3"), s("0.3333333333333333"));
    assert_eq!(eval0("3 * 0.5"), s("2"));
    assert_eq!(eval0("3 / 2"), s("1.5"));
    assert_eq!(eval0("0.1 + 0.2"), s("0.3"));
    assert_eq!(eval0("-(3)"), s("-3"));
    assert_eq!(eval0("-2.50"), s("-2.50"));
    assert_eq!(eval_on("x", &Rec::new(&[("x", "021")])), s("021"));
    assert_eq!(eval_on("x + 0", &Rec::new(&[("x", "021")])), s("21"));
}

#[test]
fn trap_replace_with_back_references_and_look_ahead() {
    let user = r#"replace(User, "(.*)\\\(.+)$","\2")"#;
    assert_eq!(
        eval_on(user, &Rec::new(&[("User", r"NT AUTHORITY\SYSTEM")])),
        s("SYSTEM")
    );
    assert_eq!(
        eval_on(
            user,
            &Rec::new(&[("User", r"NT AUTHORITY\NETWORK SERVICE")])
        ),
        s("NETWORK SERVICE")
    );
    assert_eq!(eval_on(user, &Rec::new(&[("User", "SYSTEM")])), s("SYSTEM"));
    let name = r#"replace(Image,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)","")"#;
    for (image, want) in [
        (r"C:\Tools\nc64.exe", "nc64.exe"),
        (r"C:\Tools\evil-bin", r"C:\Tools\evil-bin"),
        (r"C:\x\a b.exe", "a b.exe"),
    ] {
        assert_eq!(eval_on(name, &Rec::new(&[("Image", image)])), s(want));
    }
    // ADS strip of file_path / file_name.
    let ads = r#"replace(TargetFilename,"(:[\w\. ]+)","")"#;
    assert_eq!(
        eval_on(
            ads,
            &Rec::new(&[(
                "TargetFilename",
                r"C:\Users\a\Downloads\x.exe:Zone.Identifier"
            )])
        ),
        s(r"C:\Users\a\Downloads\x.exe")
    );
    let file_name = r#"replace(replace(TargetFilename,"(.*\\\)",""),"(:[\w\. ]+)","")"#;
    assert_eq!(
        eval_on(
            file_name,
            &Rec::new(&[(
                "TargetFilename",
                r"C:\Users\a\Downloads\x.exe:Zone.Identifier"
            )])
        ),
        s("x.exe")
    );
}

#[test]
fn where_needs_a_boolean() {
    let r = Rec::new(&[("x", "1")]);
    assert!(!keeps("x", &r));
    assert!(!keeps(r#""true""#, &r));
    assert!(parse("x = 1").is_predicate());
    assert!(!parse("x + 1").is_predicate());
    assert!(parse(r#"like(x, "1")"#).is_predicate());
}

#[test]
fn keywords_and_function_names_in_any_case() {
    let r = Rec::new(&[("a", "1"), ("s", "abc")]);
    assert!(keeps("a = 1 and s = \"abc\"", &r));
    assert!(keeps("a = 2 or not s = \"x\"", &r));
    assert!(keeps(r#"s like "a%""#, &r));
    assert_eq!(eval_on(r#"IF(a=1, "y", "n")"#, &r), s("y"));
    assert_eq!(eval_on(r#"CASE(a=1, "y")"#, &r), s("y"));
}

// ---- No copies ----

/// Whether `v` is a string borrowed from exactly `source`.
fn borrows(v: &cimhunt_spl::value::Value<'_>, source: &str) -> bool {
    matches!(v, cimhunt_spl::value::Value::Str(std::borrow::Cow::Borrowed(s)) if std::ptr::eq(s.as_ptr(), source.as_ptr()) && s.len() == source.len())
}

#[test]
fn results_that_exist_already_are_borrowed_not_copied() {
    let r = Rec::new(&[
        ("EventCode", "1"),
        ("OriginalFileName", "PowerShell.EXE"),
        ("Image", "powershell"),
    ]);
    let ctx = eval_support::ctx();
    let e = parse(
        r#"case(EventCode IN ("1","7") AND isnotnull(OriginalFileName) AND OriginalFileName != "-", OriginalFileName)"#,
    );
    assert!(borrows(&e.eval(&r, &ctx), r.text("OriginalFileName")));
    // A `replace` that matches nothing, a `lower` of lower-case text, a `trim` and a `substr`.
    for expr in [
        r#"replace(Image,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)","")"#,
        "lower(Image)",
        "trim(Image)",
        "coalesce(missing, Image)",
        r#"if(1=1, Image, "x")"#,
    ] {
        let e = parse(expr);
        assert!(borrows(&e.eval(&r, &ctx), r.text("Image")), "{expr}");
    }
    let e = parse(r#"substr(Image, 1, 5)"#);
    let v = e.eval(&r, &ctx);
    assert!(
        matches!(v, cimhunt_spl::value::Value::Str(std::borrow::Cow::Borrowed(s)) if s == "power")
    );
    // A literal result borrows from the expression.
    let e = parse(r#"case(EventCode = 1, "allowed")"#);
    assert!(matches!(
        e.eval(&r, &ctx),
        cimhunt_spl::value::Value::Str(std::borrow::Cow::Borrowed("allowed"))
    ));
}
