// A person's own view: their inbox (live, with acknowledge and mark-read),
// their balances with each entry's receipt checked in the browser, and the
// parking and voting commands of the scenes their community runs, and
// their rights over their own data (`my_data.js`). A scene
// that is not installed says so in its section; nothing else depends on it.

import { api, follow } from "../api.js";
import { h, fill, field, when } from "../dom.js";
import { actionButton, announce, problem } from "../feedback.js";
import { t } from "../i18n.js";
import { entryTable } from "./ledger.js";
import { myData } from "./my_data.js";

function inboxItem(item, refresh) {
  const open = item.state === "open" || item.state === "unacknowledged";
  const button = (action, label) =>
    actionButton({ dataset: { action, message: item.message_id }, "aria-label": t(`inbox.${action}.label`, { title: item.title }) }, label, async () => {
      await api.post(`/api/v1/me/inbox/${encodeURIComponent(item.message_id)}/${action}`, {});
      announce(t(`inbox.${action}.done`, { title: item.title }));
      await refresh();
    });
  return h(
    "li",
    { class: `inbox-item${item.read_at ? " read" : ""}`, dataset: { message: item.message_id, topic: item.topic, state: item.state } },
    h("span", { class: `severity severity-${item.severity}` }, t(`severity.${item.severity}`, {}, item.severity)),
    " ",
    h("strong", {}, item.title),
    h("p", {}, item.body),
    h("p", { class: "meta" }, when(item.delivered_at), " · ", t(`message.${item.state}`, {}, item.state), item.acknowledged_by ? ` · ${t("inbox.acked.by", { by: item.acknowledged_by })}` : ""),
    h("div", { class: "actions" }, item.require_ack && open ? button("ack", t("inbox.ack")) : null, item.read_at ? null : button("read", t("inbox.read"))),
  );
}

async function inbox(container) {
  const refresh = async () => {
    const { items } = await api.get("/api/v1/me/inbox?limit=50");
    fill(container, items.length ? h("ul", { class: "inbox", id: "inbox" }, items.map((i) => inboxItem(i, refresh))) : h("p", { class: "meta", id: "inbox" }, t("inbox.empty")));
  };
  await refresh();
  return refresh;
}

async function balances(container) {
  const [{ public_key: key }, accounts] = await Promise.all([api.get("/api/v1/ledger/public-key"), api.get("/api/v1/me/ledger/accounts")]);
  const parts = await Promise.all(
    accounts.map(async (a) => {
      const entries = await api.get(api.community(`/ledger/entries?account=${encodeURIComponent(a.name)}&limit=20`));
      return h("div", { dataset: { account: a.name } }, h("h3", {}, a.name, " · ", t("ledger.balance", { balance: a.balance })), entries.length ? entryTable(entries.reverse(), key) : null);
    }),
  );
  fill(container, parts.length ? parts : h("p", { class: "meta" }, t("ledger.mine.none")));
}

/** Runs a scene command, showing what came back or why not in `output`. */
async function run(output, plugin, name, input) {
  try {
    const answer = await api.command(plugin, name, input);
    return answer;
  } catch (e) {
    fill(output, h("p", { class: "meta" }, e.status === 404 ? t("scene.missing", { plugin }) : problem(e)));
    return null;
  }
}

async function parking(container) {
  const mine = h("div", { id: "parking-mine" });
  const offers = h("div", { id: "parking-offers", role: "status" });
  const from = h("input", { type: "text", placeholder: "b1-101-hh" });
  const start = h("input", { type: "datetime-local" });
  const end = h("input", { type: "datetime-local" });
  const local = (input) => input.value.replace("T", " ");
  const search = h(
    "form",
    { class: "inline" },
    field(t("parking.from"), from),
    field(t("parking.start"), start),
    field(t("parking.end"), end),
    h("button", { type: "submit" }, t("parking.search")),
  );
  const refresh = async () => {
    const [account, reservations] = await Promise.all([run(mine, "parking", "account", {}), run(mine, "parking", "my-reservations", {})]);
    if (!account || !reservations) return false;
    fill(
      mine,
      h("p", {}, t("parking.account", { spendable: account.spendable }), Number(account.owed) > 0 ? ` · ${t("parking.owed", { owed: account.owed })}` : ""),
      reservations.reservations.length
        ? h("ul", {}, reservations.reservations.map((r) => h("li", {}, `${r.id} · ${when(r.reservation.start)} – ${when(r.reservation.end)} · ${r.reservation.state}`)))
        : h("p", { class: "meta" }, t("parking.none")),
    );
    return true;
  };
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await run(offers, "parking", "search", { from: from.value.trim(), start: local(start), end: local(end) });
    if (!answer) return;
    fill(
      offers,
      answer.offers.length
        ? h(
            "ul",
            {},
            answer.offers.map((o) => {
              const reserve = actionButton({ "aria-label": t("parking.reserve.label", { space: o.space }) }, t("parking.reserve"), async () => {
                const done = await run(offers, "parking", "reserve", { space: o.space, start: local(start), end: local(end) });
                if (done) {
                  announce(t("parking.reserved", { id: done.id }));
                  await refresh();
                }
              });
              return h("li", {}, `${o.space} · ${o.lot} · ${Math.round(o.distance_m)} m · ${t("parking.price", { price: o.price_per_hour, charge: o.estimated_charge })} `, reserve);
            }),
          )
        : h("p", { class: "meta" }, t("parking.nooffers")),
    );
  });
  fill(container, mine);
  // Searching is offered only where parking answers.
  if (await refresh()) container.append(search, offers);
}

async function voting(container) {
  const refresh = async () => {
    const list = await run(container, "voting", "list-motions", {});
    if (!list) return;
    const open = list.motions.filter((m) => m.stage === "open");
    fill(
      container,
      list.motions.length
        ? h(
            "ul",
            {},
            list.motions.map((m) =>
              h(
                "li",
                { dataset: { motion: m.motion ?? m.id } },
                h("strong", {}, m.title),
                ` · ${t(`stage.${m.stage}`, {}, m.stage)} · ${t("voting.closes", { when: when(m.closes_at) })} `,
                open.includes(m) && !m.candidates
                  ? ["agree", "disagree", "abstain"].map((choice) => {
                      const label = { "aria-label": t("voting.vote.label", { choice: t(`voting.${choice}`), title: m.title }) };
                      return actionButton(label, t(`voting.${choice}`), async () => {
                        const done = await run(container, "voting", "vote", { motion: m.motion ?? m.id, choice });
                        if (done) announce(t("voting.cast", { count: done.ballots.length, title: m.title }));
                      });
                    })
                  : null,
              ),
            ),
          )
        : h("p", { class: "meta" }, t("voting.none")),
    );
  };
  await refresh();
}

export async function render(main, _params, signal) {
  const inboxBox = h("div");
  const balanceBox = h("div");
  const parkingBox = h("div");
  const votingBox = h("div");
  const dataBox = h("div");
  const section = (id, title, box) => h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), box);
  fill(
    main,
    h("h1", {}, t("resident.title")),
    h(
      "div",
      { class: "resident" },
      section("inbox-title", t("inbox.title"), inboxBox),
      section("balances-title", t("resident.balances"), balanceBox),
      section("parking-title", t("parking.title"), parkingBox),
      section("voting-title", t("voting.title"), votingBox),
      section("data-title", t("resident.data"), dataBox),
    ),
  );
  const refreshInbox = await inbox(inboxBox);
  follow("/api/v1/me/inbox/events", () => refreshInbox().catch((e) => announce(problem(e))), signal);
  await Promise.all([balances(balanceBox), parking(parkingBox), voting(votingBox), myData(dataBox)]);
}
