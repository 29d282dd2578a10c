//! The route table: path templates → operations, matched as axum matches them (`matchit`), with
//! the closest routes named when nothing matches. Kept apart from the per-request pipeline
//! ([`super::handle`]), as dropshot keeps its `HttpRouter` apart from its server.

use axum::http::Method;

use crate::error::ApiError;
use crate::spec::Operation;

/// How many routes a 404 suggests.
const CLOSEST_ROUTES: usize = 3;

/// Path templates → operations, for the APIs being served.
///
/// Templates are matched by their shape: `/pets/{id}` and `/pets/{petId}` are one route whose
/// parameters each operation names its own way (matchit refuses two names for one segment).
pub struct Routes {
    matcher: matchit::Router<usize>,
    paths: Vec<PathRoutes>,
    operations: &'static [Operation],
}

/// The operations that share one path shape.
struct PathRoutes {
    template: &'static str,
    api: &'static str,
    /// (method, index into the operations)
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

/// Two operations that a request could not tell apart, or a template matchit cannot route.
#[derive(Debug, thiserror::Error)]
pub enum RouteConflict {
    #[error(
        "{method} {path} is routed twice: {first_api}.{first} ({first_path}) and {second_api}.{second}"
    )]
    Twice {
        method: &'static str,
        path: &'static str,
        first_api: &'static str,
        first: &'static str,
        first_path: &'static str,
        second_api: &'static str,
        second: &'static str,
    },
    #[error("{api}.{operation_id}: route {path}: {reason}")]
    Unroutable {
        api: &'static str,
        operation_id: &'static str,
        path: &'static str,
        reason: matchit::InsertError,
    },
}

impl Routes {
    /// The routes of the `operations` that `serve` accepts (by index).
    pub fn new(
        operations: &'static [Operation],
        serve: impl Fn(usize) -> bool,
    ) -> Result<Self, RouteConflict> {
        let mut routes = Self {
            matcher: matchit::Router::new(),
            paths: Vec::new(),
            operations,
        };
        let mut shapes: std::collections::HashMap<String, usize> = Default::default();
        for (index, op) in operations
            .iter()
            .enumerate()
            .filter(|(index, _)| serve(*index))
        {
            let shape = matcher_template(op.path);
            let Some(&entry) = shapes.get(&shape) else {
                routes
                    .matcher
                    .insert(shape.clone(), routes.paths.len())
                    .map_err(|reason| RouteConflict::Unroutable {
                        api: op.api,
                        operation_id: op.operation_id,
                        path: op.path,
                        reason,
                    })?;
                shapes.insert(shape, routes.paths.len());
                routes.paths.push(PathRoutes {
                    template: op.path,
                    api: op.api,
                    methods: vec![(op.method, index)],
                });
                continue;
            };
            let entry = &mut routes.paths[entry];
            if let Some(first) = entry
                .methods
                .iter()
                .find(|(m, _)| *m == op.method)
                .and_then(|(_, i)| operations.get(*i))
            {
                return Err(RouteConflict::Twice {
                    method: op.method,
                    path: op.path,
                    first_api: first.api,
                    first: first.operation_id,
                    first_path: first.path,
                    second_api: op.api,
                    second: op.operation_id,
                });
            }
            entry.methods.push((op.method, index));
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
        let values: Vec<&str> = matched.params.iter().map(|(_, v)| v).collect();
        let params = named_params(operation.path, &values);
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

/// The template matchit routes: every segment holding a parameter becomes `{pN}`, N its
/// position, so that templates naming their parameters differently share one route.
fn matcher_template(template: &str) -> String {
    template
        .split('/')
        .enumerate()
        .map(|(i, s)| {
            if s.contains('{') {
                format!("{{p{i}}}")
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The path parameters by the operation's own names, from the segments matched in order
/// (a segment such as `{name}.json` loses its literal text).
fn named_params(template: &str, values: &[&str]) -> Vec<(String, String)> {
    template
        .split('/')
        .filter(|s| s.contains('{'))
        .zip(values)
        .filter_map(|(segment, value)| {
            let (before, rest) = segment.split_once('{')?;
            let (name, after) = rest.split_once('}')?;
            let inner = value
                .strip_prefix(before)
                .and_then(|v| v.strip_suffix(after))
                .unwrap_or(value);
            Some((name.to_owned(), percent_decode(inner)))
        })
        .collect()
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
