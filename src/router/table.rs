//! The route table: path templates → operations, matched as axum matches them (`matchit`), with
//! the closest routes named when nothing matches. Kept apart from the per-request pipeline
//! ([`super::handle`]), as dropshot keeps its `HttpRouter` apart from its server.

use axum::http::Method;

use crate::error::ApiError;
use crate::spec::Operation;

/// How many routes a 404 suggests.
const CLOSEST_ROUTES: usize = 3;

/// Path templates → operations, for the APIs being served.
pub struct Routes {
    matcher: matchit::Router<usize>,
    paths: Vec<PathRoutes>,
    operations: &'static [Operation],
}

/// The operations that share one path template.
struct PathRoutes {
    template: &'static str,
    api: &'static str,
    /// (method, index into `OPERATIONS`)
    methods: Vec<(&'static str, usize)>,
}

/// A request matched to an operation.
pub struct Found {
    pub operation: &'static Operation,
    /// The operation's index in the route table, which `dispatch` and `Contracts` take.
    pub index: usize,
    /// Path parameters, percent-decoded.
    pub params: Vec<(String, String)>,
}

/// A request that matched no operation, and the API it was closest to (for the error shape).
pub struct Miss {
    pub api: Option<&'static str>,
    pub error: ApiError,
}

/// Two operations whose path templates cannot both be routed.
#[derive(Debug, thiserror::Error)]
#[error("{api}.{operation_id}: route {path}: {reason}")]
pub struct RouteConflict {
    pub api: &'static str,
    pub operation_id: &'static str,
    pub path: &'static str,
    pub reason: matchit::InsertError,
}

impl Routes {
    /// The routes of `operations` whose API `serve` accepts.
    pub fn new(
        operations: &'static [Operation],
        serve: impl Fn(&str) -> bool,
    ) -> Result<Self, RouteConflict> {
        let mut routes = Self {
            matcher: matchit::Router::new(),
            paths: Vec::new(),
            operations,
        };
        for (index, op) in operations
            .iter()
            .enumerate()
            .filter(|(_, op)| serve(op.api))
        {
            match routes.paths.iter_mut().find(|p| p.template == op.path) {
                Some(entry) => entry.methods.push((op.method, index)),
                None => {
                    routes
                        .matcher
                        .insert(op.path, routes.paths.len())
                        .map_err(|reason| RouteConflict {
                            api: op.api,
                            operation_id: op.operation_id,
                            path: op.path,
                            reason,
                        })?;
                    routes.paths.push(PathRoutes {
                        template: op.path,
                        api: op.api,
                        methods: vec![(op.method, index)],
                    });
                }
            }
        }
        Ok(routes)
    }

    pub fn find(&self, method: &Method, path: &str) -> Result<Found, Miss> {
        let Ok(matched) = self.matcher.at(path) else {
            let closest = self.closest(path);
            let api = closest.first().map(|(entry, _)| entry.api);
            let closest = closest.iter().map(|(entry, _)| describe(entry)).collect();
            let error = ApiError::NoRoute {
                method: method.to_string(),
                path: path.to_owned(),
                closest,
            };
            return Err(Miss { api, error });
        };
        let Some(entry) = self.paths.get(*matched.value) else {
            let error = ApiError::NoRoute {
                method: method.to_string(),
                path: path.to_owned(),
                closest: Vec::new(),
            };
            return Err(Miss { api: None, error });
        };
        let found = entry.methods.iter().find(|(m, _)| *m == method.as_str());
        let Some((operation, &(_, index))) =
            found.and_then(|f| Some((self.operations.get(f.1)?, f)))
        else {
            let allow = entry.methods.iter().map(|(m, _)| *m).collect();
            let error = ApiError::MethodNotAllowed {
                method: method.to_string(),
                path: path.to_owned(),
                allow,
            };
            return Err(Miss {
                api: Some(entry.api),
                error,
            });
        };
        let params = matched
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), percent_decode(v)))
            .collect();
        Ok(Found {
            operation,
            index,
            params,
        })
    }

    /// Templates sharing the most leading segments with `path` (a `{param}` matches any).
    fn closest(&self, path: &str) -> Vec<(&PathRoutes, usize)> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut scored: Vec<(&PathRoutes, usize)> = self
            .paths
            .iter()
            .map(|entry| {
                let shared = entry
                    .template
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .zip(&segments)
                    .take_while(|(t, s)| t.starts_with('{') || t == *s)
                    .count();
                (entry, shared)
            })
            .filter(|(_, shared)| *shared > 0)
            .collect();
        scored.sort_by_key(|(entry, shared)| {
            (
                std::cmp::Reverse(*shared),
                entry.template.len().abs_diff(path.len()),
            )
        });
        scored.truncate(CLOSEST_ROUTES);
        scored
    }
}

fn describe(entry: &PathRoutes) -> String {
    let methods: Vec<&str> = entry.methods.iter().map(|(m, _)| *m).collect();
    format!("{} {}", methods.join("|"), entry.template)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
