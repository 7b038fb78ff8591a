//! A logged-in console session over plain HTTP (cookies kept by hand), shared by the console
//! tests.
#![allow(dead_code)]

pub const PW: &str = "correct horse battery staple";

pub struct Session {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

impl Session {
    pub fn login(base: &str, user: &str) -> Session {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build(),
        );
        let mut form = agent.get(&format!("{base}/console/login")).call().unwrap();
        let pre = cookies(&form);
        let body = form.body_mut().read_to_string().unwrap();
        let csrf = csrf_of(&body);
        let resp = agent
            .post(&format!("{base}/console/login"))
            .header("Cookie", &pre)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!(
                "user={user}&password={}&csrf={csrf}",
                PW.replace(' ', "+")
            ))
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303, "login {user}");
        let cookie = [pre, cookies(&resp)]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Session {
            agent,
            base: base.to_string(),
            cookie,
        }
    }

    /// A regulator of every region (`reg`), created in `store` and logged in at `base`.
    pub fn regulator(store: &minetrace_store::Store, base: &str) -> Session {
        minetrace_server::console::create_user(
            store,
            "reg",
            minetrace_store::ConsoleRole::Regulator,
            Some("*"),
            None,
            PW,
        )
        .unwrap();
        Session::login(base, "reg")
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.get_in("en", path)
    }

    /// A page in the console language `lang` (`zh` or `en`).
    pub fn get_in(&self, lang: &str, path: &str) -> (u16, String) {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Accept-Language", lang)
            .call()
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        (status, body)
    }

    /// Posts a form (values percent-encoded) with the session's cookies: (status, body).
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", pct(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut resp = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// The CSRF token of a page this session gets.
    pub fn csrf(&self, path: &str) -> String {
        csrf_of(&self.get(path).1)
    }
}

fn cookies(resp: &ureq::http::Response<ureq::Body>) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|kv| kv.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    body[at..].chars().take_while(|c| *c != '"').collect()
}

pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
