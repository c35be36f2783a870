//! `GET {base}`: every route's rules and the JSON Schema of its input, so a client can check
//! files and input before sending a byte.

use actix_web::{web, HttpResponse};

use crate::protocol::{RouteInfo, RoutesResponse};
use crate::state::Shared;

pub(crate) async fn list(shared: web::Data<Shared>) -> HttpResponse {
    let routes = shared
        .router
        .routes()
        .iter()
        .map(|r| RouteInfo::of(r))
        .collect();
    HttpResponse::Ok().json(RoutesResponse { routes })
}
