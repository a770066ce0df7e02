//! Expanding command-line paths into inputs.

use std::fs;
use std::path::PathBuf;

use cimhunt_read::{InputName, ReadErrorKind, expand_paths};

fn names(inputs: &[cimhunt_read::Input]) -> Vec<(InputName, bool)> {
    inputs
        .iter()
        .map(|i| ((*i.name).clone(), i.explicit))
        .collect()
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    fs::create_dir_all(root.join("b/c")).expect("mkdir");
    fs::create_dir_all(root.join("a")).expect("mkdir");
    for f in ["a/2.xml", "a/10.xml", "b/c/3.json", "b/z.evtx", "top.evtx"] {
        fs::write(root.join(f), b"{}").expect("write");
    }
    let (inputs, errors) = expand_paths(&[root]);
    assert!(errors.is_empty(), "{errors:?}");
    let expected: Vec<_> = ["a/10.xml", "a/2.xml", "b/c/3.json", "b/z.evtx", "top.evtx"]
        .iter()
        .map(|f| (InputName::Path(root.join(f)), false))
        .collect();
    assert_eq!(names(&inputs), expected);
}

#[cfg(unix)]
#[test]
fn symlinked_directories_are_not_followed_but_symlinked_files_are_taken() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&root).expect("mkdir");
    fs::create_dir_all(&outside).expect("mkdir");
    fs::write(outside.join("hidden.xml"), b"<Event>").expect("write");
    fs::write(root.join("real.xml"), b"<Event>").expect("write");
    std::os::unix::fs::symlink(&outside, root.join("dirlink")).expect("symlink");
    std::os::unix::fs::symlink(root.join("real.xml"), root.join("filelink.xml")).expect("symlink");
    std::os::unix::fs::symlink(root.join("gone"), root.join("dangling")).expect("symlink");
    let (inputs, errors) = expand_paths(&[&root]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        names(&inputs),
        vec![
            (InputName::Path(root.join("filelink.xml")), false),
            (InputName::Path(root.join("real.xml")), false),
        ]
    );
}

#[test]
fn explicit_files_stdin_and_missing_paths() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("one.xml");
    fs::write(&file, b"<Event>").expect("write");
    let missing = tmp.path().join("missing.xml");
    let (inputs, errors) = expand_paths(&[file.clone(), missing.clone(), PathBuf::from("-")]);
    assert_eq!(
        names(&inputs),
        vec![(InputName::Path(file), true), (InputName::Stdin, true)]
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(*errors[0].input, InputName::Path(missing));
    assert!(matches!(errors[0].kind, ReadErrorKind::Io(_)));
}

#[cfg(unix)]
#[test]
fn unlistable_directory_is_an_error_and_walking_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    let locked = tmp.path().join("locked");
    fs::create_dir_all(&locked).expect("mkdir");
    fs::write(tmp.path().join("ok.xml"), b"<Event>").expect("write");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    // root can list anything: the check only means something for other users.
    let can_list = fs::read_dir(&locked).is_ok();
    let (inputs, errors) = expand_paths(&[tmp.path()]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).expect("chmod back");
    assert_eq!(
        names(&inputs),
        vec![(InputName::Path(tmp.path().join("ok.xml")), false)]
    );
    if !can_list {
        assert_eq!(errors.len(), 1);
        assert_eq!(*errors[0].input, InputName::Path(locked));
    }
}
