// The live compound: the community map with its active alarms placed on
// it, redrawn from the community feed (SSE) as alarms change, without a
// reload; the alarm list with acknowledge and clear; the open work orders
// and their deadlines (from fire-safety, when it is installed); and the
// latest notifications with who was reached on which channel.

import { api, follow, session } from "../api.js";
import { h, fill, when } from "../dom.js";
import { actionButton, announce, problem } from "../feedback.js";
import { t } from "../i18n.js";
import { CommunityMap } from "../map.js";

const NOTIFICATIONS_SHOWN = 8;

function alarmRow(alarm, map, refresh) {
  const kind = t(`word.${alarm.alarm_type}`, {}, alarm.alarm_type);
  const place = map.placeOf(alarm);
  const where = place ? map.name(place) : alarm.originator;
  const act = (action) =>
    actionButton(
      { dataset: { action, alarm: alarm.id }, "aria-label": t(`alarms.${action}.label`, { alarm: kind, where }) },
      t(`alarms.${action}`),
      async () => {
        await api.post(api.community(`/alarms/${encodeURIComponent(alarm.id)}/${action}`), {});
        announce(t(`alarms.${action}.done`, { alarm: kind, where }));
        await refresh();
      },
    );
  return h(
    "tr",
    { dataset: { alarmId: alarm.id, alarmType: alarm.alarm_type, acknowledged: String(alarm.acknowledged) } },
    h("td", {}, h("span", { class: `severity severity-${alarm.severity}` }, t(`severity.${alarm.severity}`, {}, alarm.severity))),
    h("td", {}, kind),
    h("td", {}, where),
    h("td", {}, String(alarm.count)),
    h("td", {}, when(alarm.first_seen)),
    h("td", {}, alarm.acknowledged ? t("alarms.acked", { by: alarm.acked_by ?? "" }) : t("alarms.unacked")),
    h("td", { class: "actions" }, alarm.acknowledged ? null : act("ack"), act("clear")),
  );
}

async function workOrders(container) {
  try {
    const answer = await api.command("fire-safety", "work-orders", { open: true, limit: 20 });
    const orders = answer.work_orders ?? [];
    fill(
      container,
      orders.length
        ? h(
            "ul",
            { class: "orders" },
            orders.map((o) =>
              h(
                "li",
                { dataset: { workOrder: o.id } },
                h("strong", {}, o.id),
                ` · ${t(`word.${o.alarm_type}`, {}, o.alarm_type)} · ${o.place ?? o.originator} · ${t("orders.step", { step: o.step })} · `,
                // The host's clock, not this browser's, says when an order is
                // overdue: fire-safety escalates it then.
                h("span", { class: o.escalated ? "overdue" : "" }, t("orders.deadline", { when: when(o.deadline) }), o.escalated ? ` · ${t("orders.escalated")}` : ""),
              ),
            ),
          )
        : h("p", { class: "meta" }, t("orders.none")),
    );
  } catch (e) {
    fill(container, h("p", { class: "meta" }, t("orders.unavailable"), " ", problem(e)));
  }
}

/** The channels beside the inbox the community can reach people on (admins see them). */
async function channels() {
  if (session.me.role !== "community-admin" && session.me.role !== "platform-admin") return null;
  const { gateways } = await api.get(api.community("/notify/gateways"));
  const names = [t("channel.inbox"), ...gateways.map((g) => t(`channel.${g.channel}`, {}, g.channel))];
  return h("p", { class: "meta", id: "channels" }, t("notify.channels", { list: names.join(t("list.separator")) }));
}

async function notifications(container) {
  const { notifications: list } = await api.get(api.community(`/notifications?limit=${NOTIFICATIONS_SHOWN}`));
  const details = await Promise.all(list.map((m) => api.get(api.community(`/notifications/${encodeURIComponent(m.id)}`))));
  fill(
    container,
    await channels(),
    details.length
      ? h(
          "ul",
          { class: "messages" },
          details.map((m) => {
            const channels = {};
            for (const d of m.deliveries) {
              channels[d.channel] ??= new Set();
              channels[d.channel].add(d.person);
            }
            const reached = Object.entries(channels)
              .map(([channel, people]) => t("notify.channel", { channel: t(`channel.${channel}`, {}, channel), count: people.size }))
              .join(t("list.separator"));
            return h(
              "li",
              { dataset: { message: m.id, topic: m.topic } },
              h("span", { class: `severity severity-${m.severity}` }, t(`severity.${m.severity}`, {}, m.severity)),
              " ",
              h("strong", {}, m.title),
              ` · ${when(m.created_at)} · ${t(`message.${m.state}`, {}, m.state)} · `,
              t("notify.reached", { count: m.recipients }),
              reached ? ` (${reached})` : "",
              m.deliveries.length
                ? h(
                    "details",
                    {},
                    h("summary", {}, t("notify.who")),
                    h(
                      "ul",
                      { class: "deliveries" },
                      m.deliveries.map((d) =>
                        h("li", {}, `${d.person} · ${t(`channel.${d.channel}`, {}, d.channel)} · ${t(`delivery.${d.state}`, {}, d.state)}`),
                      ),
                    ),
                  )
                : null,
            );
          }),
        )
      : h("p", { class: "meta" }, t("notify.none")),
  );
}

export async function render(main, _params, signal) {
  const map = new CommunityMap(await api.get(api.community("/map")));
  const mapBox = h("div", { class: "map-box", id: "map" });
  const rows = h("tbody");
  const ordersBox = h("div", { id: "work-orders" });
  const messagesBox = h("div", { id: "notifications" });
  const live = h("span", { class: "live", id: "live" }, t("live.connecting"));
  const refreshAlarms = async () => {
    const alarms = await api.get(api.community("/alarms?state=active&limit=200"));
    fill(mapBox, map.empty ? h("p", { class: "meta" }, t("map.empty")) : map.render(alarms));
    fill(rows, alarms.length ? alarms.map((a) => alarmRow(a, map, refreshAlarms)) : h("tr", {}, h("td", { colspan: 7 }, t("alarms.none"))));
  };
  fill(
    main,
    h("h1", {}, t("compound.title"), " ", live),
    h(
      "div",
      { class: "compound" },
      h("section", { class: "card", "aria-labelledby": "map-heading" }, h("h2", { id: "map-heading" }, t("map.title")), mapBox, h("p", { class: "legend meta" }, t("map.legend"))),
      h(
        "section",
        { class: "card", "aria-labelledby": "alarms-heading" },
        h("h2", { id: "alarms-heading" }, t("alarms.title")),
        h(
          "div",
          { class: "table-scroll" },
          h(
            "table",
            { class: "alarms", "aria-labelledby": "alarms-heading" },
            h("thead", {}, h("tr", {}, ["severity", "type", "where", "count", "since", "ack", "actions"].map((c) => h("th", { scope: "col" }, t(`alarms.col.${c}`))))),
            rows,
          ),
        ),
      ),
      h("section", { class: "card", "aria-labelledby": "orders-heading" }, h("h2", { id: "orders-heading" }, t("orders.title")), ordersBox),
      h("section", { class: "card", "aria-labelledby": "notify-heading" }, h("h2", { id: "notify-heading" }, t("notify.title")), messagesBox),
    ),
  );
  await Promise.all([refreshAlarms(), workOrders(ordersBox), notifications(messagesBox)]);
  // Many feed events can arrive together (a fire raises, updates and
  // notifies at once): one redraw per burst.
  let pending = null;
  const redraw = () => {
    pending ??= setTimeout(async () => {
      pending = null;
      try {
        await Promise.all([refreshAlarms(), workOrders(ordersBox), notifications(messagesBox)]);
      } catch (e) {
        announce(problem(e));
      }
    }, 150);
  };
  follow(api.community("/events?kinds=alarm,notification,installation"), redraw, signal, () => {
    live.textContent = t("live.on");
    live.dataset.live = "on";
  });
}
