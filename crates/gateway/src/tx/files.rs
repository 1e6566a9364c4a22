//! Files: 9101 文件上传 and 9102 文件下载, and the zipped text files of 3202 (read bounded,
//! written for the result).
//!
//! A file's bytes come as a JSON array of integers 0–255 (as Java HIS clients send
//! `byte[]`) or as a base64 string; 9102 answers them as a base64 string in `output`. A file
//! belongs to the institution that uploaded it (or that 3202 made it for): only it may
//! download or use it, until its `dld_endtime`.

use super::*;
use base64::Engine;
use std::io::{Read, Write};
use yibao_store::GatewayFile;

/// The largest file accepted (decoded), in bytes. A request body is at most
/// [`crate::server`]'s 20 MB, which a base64 file of this size fits in.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// The largest text a zipped file may hold once decompressed, in bytes.
pub const MAX_UNZIPPED_BYTES: u64 = 32 * 1024 * 1024;

/// How long a file may be downloaded after it is stored, in days.
pub const DOWNLOAD_DAYS: i64 = 7;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Beijing time (UTC+8) of Unix second `secs`, `yyyy-MM-dd HH:mm:ss`.
pub(super) fn beijing_time(secs: i64) -> String {
    let local = secs + 8 * 3600;
    let (days, rem) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let date = yibao_core::Date::from_ymd(1970, 1, 1)
        .and_then(|d| d.add_days(days))
        .map(|d| d.to_string())
        .unwrap_or_default();
    format!(
        "{date} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn too_big(path: &str, n: usize) -> Failure {
    refuse(format!(
        "文件 {path} 有 {n} 字节以上，超过上限 {MAX_FILE_BYTES} 字节（{} MB）",
        MAX_FILE_BYTES / (1024 * 1024)
    ))
}

/// The bytes at `obj.key`: an array of integers 0–255 or a base64 string.
fn file_bytes(obj: &Obj<'_>, key: &str) -> Result<Vec<u8>, Failure> {
    let path = format!("input.{}.{key}", obj.path);
    let bytes = match obj.map.get(key) {
        None | Some(Value::Null) => return Err(refuse(format!("缺少字段 {path}"))),
        Some(Value::Array(items)) => {
            if items.len() > MAX_FILE_BYTES {
                return Err(too_big(&path, items.len()));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                match v.as_u64().and_then(|n| u8::try_from(n).ok()) {
                    Some(b) => out.push(b),
                    None => {
                        let shown: String = v.to_string().chars().take(16).collect();
                        return Err(refuse(format!(
                            "字段 {path} 的第 {} 个元素 {shown} 不是 0–255 的整数（文件字节）",
                            i + 1
                        )));
                    }
                }
            }
            out
        }
        Some(Value::String(s)) => {
            let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            if clean.len() / 4 * 3 > MAX_FILE_BYTES + 3 {
                return Err(too_big(&path, clean.len() / 4 * 3));
            }
            B64.decode(&clean).map_err(|e| {
                refuse(format!(
                    "字段 {path} 不是有效的 base64 字符串（文件字节）：{e}"
                ))
            })?
        }
        Some(other) => {
            return Err(refuse(format!(
                "字段 {path} 的类型错误：应为字节数组（0–255 的整数）或 base64 字符串，实际为{}",
                crate::wire::type_name(other)
            )))
        }
    };
    if bytes.is_empty() {
        return Err(refuse(format!("字段 {path} 是空文件")));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_big(&path, bytes.len()));
    }
    Ok(bytes)
}

/// `obj.fixmedins_code`, when given, must be the authenticated institution's.
fn own_institution(obj: &Obj<'_>, meta: &MessageMeta) -> Result<(), Failure> {
    if let Some(code) = obj.opt_text("fixmedins_code")? {
        if code != meta.fixmedins_code {
            return Err(refuse(format!(
                "定点医药机构编号 input.{}.fixmedins_code={} 与本机构 {} 不符：只能为本机构上传、下载文件",
                obj.path,
                shown(&code),
                meta.fixmedins_code
            )));
        }
    }
    Ok(())
}

/// A new file of this message's institution: `file_qury_no` is `prefix` + msgid.
pub(super) fn new_file(
    meta: &MessageMeta,
    prefix: &str,
    filename: &str,
    kind: &str,
    bytes: &[u8],
) -> GatewayFile {
    let now = crate::wire::unix_now();
    GatewayFile {
        file_qury_no: format!("{prefix}{}", meta.msgid),
        fixmedins_code: meta.fixmedins_code.clone(),
        filename: filename.into(),
        kind: kind.into(),
        size_bytes: bytes.len() as i64,
        content_base64: B64.encode(bytes),
        msgid: meta.msgid.clone(),
        created_at: beijing_time(now),
        dld_endtime: beijing_time(now + DOWNLOAD_DAYS * 86_400),
    }
}

/// The answer naming a stored file.
pub(super) fn file_info(f: &GatewayFile) -> Value {
    json!({"file_qury_no": f.file_qury_no, "filename": f.filename, "dld_endtime": f.dld_endtime})
}

/// 9101 文件上传.
pub(super) async fn upload(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let obj = object(input, "fsUploadIn")?;
    own_institution(&obj, meta)?;
    let filename = obj.text("filename")?;
    meta.target = filename.clone();
    let bytes = file_bytes(&obj, "in")?;
    let f = new_file(meta, "FL", &filename, "upload", &bytes);
    g.insert_file(&f);
    Ok(json!({ "result": file_info(&f) }))
}

/// The file `file_qury_no` named at `path`, this institution's and still downloadable.
pub(super) async fn own_file(
    g: &mut GatewayTx,
    meta: &MessageMeta,
    path: &str,
    file_qury_no: &str,
) -> Result<GatewayFile, Failure> {
    let f = g
        .file(file_qury_no)
        .await?
        .filter(|f| f.fixmedins_code == meta.fixmedins_code)
        .ok_or_else(|| {
            refuse(format!(
                "文件 {path}={} 不存在或不属于本机构 {}",
                shown(file_qury_no),
                meta.fixmedins_code
            ))
        })?;
    let now = beijing_time(crate::wire::unix_now());
    if now > f.dld_endtime {
        return Err(refuse(format!(
            "文件 {path}={} 的下载截止时间 {} 已过",
            f.file_qury_no, f.dld_endtime
        )));
    }
    Ok(f)
}

/// The stored bytes of `f` (a fault when they do not decode: the gateway wrote them).
pub(super) fn bytes_of(f: &GatewayFile) -> Result<Vec<u8>, Failure> {
    B64.decode(&f.content_base64)
        .map_err(|e| Failure::Fault(format!("库中文件 {} 的内容无法解码：{e}", f.file_qury_no)))
}

/// 9102 文件下载: the bytes, base64, as `output`.
pub(super) async fn download(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let obj = object(input, "fsDownloadIn")?;
    own_institution(&obj, meta)?;
    let no = obj.text("file_qury_no")?;
    meta.target = no.clone();
    let f = own_file(g, meta, "input.fsDownloadIn.file_qury_no", &no).await?;
    if let Some(name) = obj.opt_text("filename")? {
        if name != f.filename {
            return Err(refuse(format!(
                "文件名 input.fsDownloadIn.filename={} 与文件 {} 的文件名 {} 不符",
                shown(&name),
                f.file_qury_no,
                shown(&f.filename)
            )));
        }
    }
    Ok(Value::String(f.content_base64))
}

/// The one text file in zip `bytes` (of file `no`), decompressed within
/// [`MAX_UNZIPPED_BYTES`] and checked to be UTF-8 (a leading BOM dropped).
pub(super) fn unzip_text(no: &str, bytes: &[u8]) -> Result<String, Failure> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| refuse(format!("文件 {no} 不是有效的 zip 文件：{e}")))?;
    let mut found = None;
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| refuse(format!("文件 {no} 不是有效的 zip 文件：{e}")))?;
        if entry.is_dir() {
            continue;
        }
        if found.is_some() {
            return Err(refuse(format!(
                "文件 {no} 的 zip 中应只有一个文本文件，实际不止一个"
            )));
        }
        found = Some(i);
    }
    let Some(i) = found else {
        return Err(refuse(format!("文件 {no} 的 zip 中没有文件")));
    };
    let bigger = || {
        refuse(format!(
            "文件 {no} 解压后超过上限 {MAX_UNZIPPED_BYTES} 字节（{} MB），不予处理",
            MAX_UNZIPPED_BYTES / (1024 * 1024)
        ))
    };
    let entry = zip
        .by_index(i)
        .map_err(|e| refuse(format!("文件 {no} 不是有效的 zip 文件：{e}")))?;
    if entry.size() > MAX_UNZIPPED_BYTES {
        return Err(bigger());
    }
    let mut out = Vec::new();
    entry
        .take(MAX_UNZIPPED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| refuse(format!("文件 {no} 解压失败：{e}")))?;
    if out.len() as u64 > MAX_UNZIPPED_BYTES {
        return Err(bigger());
    }
    let text = String::from_utf8(out).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        refuse(format!("文件 {no} 不是 UTF-8 文本：第 {line} 行有无效字节"))
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// `text` zipped as the one file `name` (deflated).
pub(super) fn zip_text(name: &str, text: &str) -> Result<Vec<u8>, Failure> {
    let fault = |e: &dyn std::fmt::Display| Failure::Fault(format!("生成 zip 文件失败：{e}"));
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, options).map_err(|e| fault(&e))?;
    w.write_all(text.as_bytes()).map_err(|e| fault(&e))?;
    Ok(w.finish().map_err(|e| fault(&e))?.into_inner())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The value of `r`, which must be neither refused nor failed.
    pub(in crate::tx) fn done<T>(r: Result<T, Failure>) -> T {
        match r {
            Ok(v) => v,
            Err(_) => panic!("refused or failed"),
        }
    }

    #[test]
    fn beijing_times_order_as_text() {
        assert_eq!(beijing_time(0), "1970-01-01 08:00:00");
        assert_eq!(beijing_time(16 * 3600 + 59), "1970-01-02 00:00:59");
        // Download deadlines are compared as text: the format orders as time does.
        assert!(beijing_time(1_700_000_000) < beijing_time(1_700_000_000 + 86_400));
    }

    #[test]
    fn zipped_text_comes_back_and_other_bytes_are_refused() {
        let z = done(zip_text("a.txt", "一\t二\r\n"));
        assert_eq!(done(unzip_text("F", &z)), "一\t二\r\n");
        match unzip_text("F", b"PK not a zip") {
            Err(Failure::Refused(r)) => assert!(r.0.contains("不是有效的 zip"), "{}", r.0),
            _ => panic!("not refused"),
        }
    }
}
