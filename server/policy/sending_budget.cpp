// See sending_budget.hpp.
#include "server/policy/sending_budget.hpp"

namespace postern::policy {
namespace {

using schema::LimitSetting;
using schema::SendingUsage;

std::optional<std::int64_t> apply(const std::optional<std::int64_t>& fallback, const LimitSetting& own) {
  switch (own.kind) {
    case LimitSetting::Kind::Default: return fallback;
    case LimitSetting::Kind::Unlimited: return std::nullopt;
    case LimitSetting::Kind::AtMost: return own.count;
  }
  return fallback;
}

SendingUsage operator+(SendingUsage a, const SendingUsage& b) {
  return {a.messages + b.messages, a.recipients + b.recipients};
}

bool within(const std::optional<std::int64_t>& limit, std::int64_t used_after) {
  return !limit || used_after <= *limit;
}

}  // namespace

Limits effective_limits(const Limits& defaults, const schema::LimitOverrides& own) {
  return {apply(defaults.messages_per_hour, own.messages_per_hour),
          apply(defaults.messages_per_day, own.messages_per_day),
          apply(defaults.recipients_per_hour, own.recipients_per_hour),
          apply(defaults.recipients_per_day, own.recipients_per_day)};
}

SendingUsage SendingBudget::Window::used() const { return synced + in_flight + unsynced; }

SendingBudget::SendingBudget(WindowLengths lengths, Limits limits, std::int64_t user_id, SendingUsage hour_total,
                             SendingUsage day_total, std::int64_t now)
    : limits_(limits), user_id_(user_id) {
  hour_.window = schema::window_at(lengths.hour, now);
  day_.window = schema::window_at(lengths.day, now);
  hour_.synced = hour_total;
  day_.synced = day_total;
}

void SendingBudget::roll(std::int64_t now) {
  for (Window* w : {&hour_, &day_}) {
    const schema::UsageWindow current = schema::window_at(w->window.seconds, now);
    if (current != w->window) *w = Window{current, {}, {}, {}};
  }
}

bool SendingBudget::try_message(std::int64_t now) {
  roll(now);
  if (!within(limits_.messages_per_hour, hour_.used().messages + 1) ||
      !within(limits_.messages_per_day, day_.used().messages + 1)) {
    return false;
  }
  ++hour_.unsynced.messages;
  ++day_.unsynced.messages;
  return true;
}

bool SendingBudget::try_recipient(std::int64_t now) {
  roll(now);
  if (!within(limits_.recipients_per_hour, hour_.used().recipients + 1) ||
      !within(limits_.recipients_per_day, day_.used().recipients + 1)) {
    return false;
  }
  ++hour_.unsynced.recipients;
  ++day_.unsynced.recipients;
  return true;
}

SendingUsage SendingBudget::used(std::int64_t window_length, std::int64_t now) {
  roll(now);
  for (const Window* w : {&hour_, &day_}) {
    if (w->window.seconds == window_length) return w->used();
  }
  return {};
}

std::vector<schema::UsageCount> SendingBudget::take_unsynced() {
  std::vector<schema::UsageCount> counts;
  for (Window* w : {&hour_, &day_}) {
    w->in_flight = w->in_flight + w->unsynced;
    if (w->in_flight != SendingUsage{}) counts.push_back({user_id_, w->window, w->in_flight});
    w->unsynced = {};
  }
  return counts;
}

void SendingBudget::flushed() {
  for (Window* w : {&hour_, &day_}) {
    w->synced = w->synced + w->in_flight;
    w->in_flight = {};
  }
}

void SendingBudget::flush_failed() {
  for (Window* w : {&hour_, &day_}) {
    w->unsynced = w->unsynced + w->in_flight;
    w->in_flight = {};
  }
}

std::vector<schema::UsageWindow> SendingBudget::windows() const { return {hour_.window, day_.window}; }

void SendingBudget::refreshed(const std::vector<schema::UsageCount>& totals) {
  for (Window* w : {&hour_, &day_}) {
    SendingUsage total;
    for (const auto& t : totals) {
      if (t.user_id == user_id_ && t.window == w->window) total = t.usage;
    }
    w->synced = total;
  }
}

void SendingBudget::reloaded(SendingUsage hour_total, SendingUsage day_total, std::int64_t now) {
  roll(now);
  hour_.synced = hour_total;
  day_.synced = day_total;
}

bool SendingBudget::has_unsynced() const {
  for (const Window* w : {&hour_, &day_}) {
    if (w->unsynced != SendingUsage{} || w->in_flight != SendingUsage{}) return true;
  }
  return false;
}

}  // namespace postern::policy
